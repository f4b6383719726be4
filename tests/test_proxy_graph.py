"""Proxy text / JSON / prefix forms: canonical round trips and clear errors."""
import json
import random

import pytest

from autogas.errors import AutogasError
from autogas.proxy import (SCORE, TYPES, ProxyGraph, load_proxy, make_node, register_op, signatures,
                           unregister_op)
from autogas.proxy.graph import MAX_DEPTH, Node, read_proxy_json

PAPER = "square(slogdet(ksum(gram(above_mean(swish(F))))))"


def random_node(rng: random.Random, out_type: str, depth: int) -> Node:
    """A random well-typed tree (terminals preferred once deep)."""
    specs = [s for s in signatures() if s.out_type == out_type]
    leaves = [s for s in specs if not s.in_types]
    if leaves and (depth > 5 or rng.random() < 0.2):
        return Node(rng.choice(leaves))
    spec = rng.choice([s for s in specs if s.in_types] or leaves)
    return Node(spec, [random_node(rng, t, depth + 1) for t in spec.in_types])


def test_paper_proxy_parses_to_the_expected_typed_chain():
    g = ProxyGraph.parse(" square( slogdet(ksum(gram(above_mean( swish(F) ))))) ")
    assert g.text == PAPER
    assert [n.spec.stage for n in g.nodes()] == [
        "augment", "reduction", "kernel_aggregation", "kernel", "encoding", "transform", "input"]
    assert [n.type for n in g.nodes()] == [
        "score", "score", "netkernel", "kernels", "code", "features", "features"]
    assert g.prefix()[3] == "gram__code"  # the overload for codes, not real features
    assert ProxyGraph.parse("slogdet(ksum(gram(F)))").prefix()[2] == "gram__features"
    assert g.size == 7 and g.depth == 7 and not g.uses_population


def test_commutative_ops_are_canonically_sorted():
    a = ProxyGraph.parse("rank_add(sum(trace(gram(F))), n_layers)")
    b = ProxyGraph.parse("rank_add(n_layers,sum(trace(gram(F))))")
    assert a == b and a.text == "rank_add(n_layers, sum(trace(gram(F))))"
    assert a.uses_population
    assert hash(a) == hash(b)


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_round_trip(seed, tmp_path):
    rng = random.Random(seed)
    g = ProxyGraph(random_node(rng, SCORE, 0))
    again = ProxyGraph.parse(g.text)
    assert again == g and again.text == g.text
    assert ProxyGraph.from_prefix(g.prefix()) == g
    path = tmp_path / "p.json"
    g.save(path, name="x", kendall=0.5)
    loaded, obj = read_proxy_json(path)
    assert loaded == g and obj["kendall"] == 0.5 and obj["proxy"] == g.text
    assert load_proxy(str(path)) == g and load_proxy(g.text) == g


def test_every_type_is_reachable_and_every_op_has_a_unique_key():
    keys = [s.key for s in signatures()]
    assert len(keys) == len(set(keys)) and all(k.isidentifier() for k in keys)
    assert {s.out_type for s in signatures()} == set(TYPES)


@pytest.mark.parametrize("text, message", [
    ("", "empty proxy"),
    ("swish(F", "expected ')'"),
    ("slogdet(ksum(gram(F))))", "unexpected ')'"),
    ("slogdet(ksum(gram(F))) n_layers", "unexpected 'n_layers'"),
    ("swihs(F)", "unknown op 'swihs' (did you mean swish"),
    ("slogdet(F)", "op 'slogdet' takes (kernels) or (netkernel), got (features)"),
    ("hamming(F)", "op 'hamming' takes (code), got (features)"),
    ("gram(F)", "must produce a score, but 'gram(F)' produces kernels"),
    ("add(n_layers)", "op 'add' takes"),
    ("sum(trace(gram(F)), n_layers)", "op 'sum' takes"),
    ("1 + 2", "expected an op name but found '1'"),
    ("rank_add(n_layers,)", "expected an op name but found ')'"),
    ("neg(" * (MAX_DEPTH + 1) + "n_layers" + ")" * (MAX_DEPTH + 1), "nesting deeper"),
])
def test_malformed_text_names_the_problem(text, message):
    with pytest.raises(AutogasError) as err:
        ProxyGraph.parse(text)
    assert message in str(err.value)


def test_malformed_json(tmp_path):
    cases = {
        "bad.json": ("{not json", "not valid JSON"),
        "list.json": ("[1, 2]", "expected a JSON object"),
        "noproxy.json": ('{"name": "x"}', "missing the 'proxy' key"),
        "number.json": ('{"proxy": 3}', "'proxy' must be a string"),
        "typo.json": ('{"proxy": "slogdet(ksum(gram(F))"}', "expected ')'"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_text(content)
        with pytest.raises(AutogasError, match=message.replace("(", r"\(").replace(")", r"\)")):
            load_proxy(str(tmp_path / name))
    with pytest.raises(AutogasError, match="cannot read proxy file"):
        load_proxy(str(tmp_path / "missing.json"))


def test_prefix_errors():
    with pytest.raises(AutogasError, match="ends before"):
        ProxyGraph.from_prefix(["square__score"])
    with pytest.raises(AutogasError, match="extra keys"):
        ProxyGraph.from_prefix(["n_layers", "n_layers"])
    with pytest.raises(AutogasError, match="unknown op key"):
        ProxyGraph.from_prefix(["nope"])


def test_user_registered_op_joins_the_language_and_leaves_it():
    @register_op("transform", "test_double_graph")
    def double(x):
        """2 x"""
        return 2 * x

    try:
        g = ProxyGraph.parse("sum(trace(gram(test_double_graph(F))))")
        assert g.prefix()[3] == "test_double_graph__features"
        assert make_node("test_double_graph", make_node("F")).type == "features"
        with pytest.raises(ValueError, match="already registered"):
            register_op("transform", "test_double_graph")(double)
    finally:
        unregister_op("test_double_graph")
    assert "test_double_graph" not in {s.name for s in signatures()}
    with pytest.raises(AutogasError):
        ProxyGraph.parse("sum(trace(gram(test_double_graph(F))))")
    with pytest.raises(ValueError, match="unknown stage"):
        register_op("nope", "x")
    with pytest.raises(ValueError, match="identifier"):
        register_op("transform", "bad name")


def test_paper_json_files_in_repo():
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "proxies"
    assert load_proxy(str(root / "autogas_paper.json")).text == PAPER
    obj = json.loads((root / "gram_vanilla.json").read_text())
    assert load_proxy(str(root / "gram_vanilla.json")).text == obj["proxy"] == \
        "slogdet(ksum(gram(F)))"


def test_shipped_proxy_files_parse_and_record_how_they_were_made():
    """Every file in proxies/ loads; an evolved one records its command (rerun by
    benchmarks/reproduce_proxies.py) or says at which commit its command ran; the shipped
    evolved proxy reads the activations and was searched on several benches."""
    from pathlib import Path
    from autogas.evolve import structural_reason

    root = Path(__file__).resolve().parents[1] / "proxies"
    files = sorted(root.glob("*.json"))
    assert {"autogas_evolved.json", "autogas_macro.json", "autogas_paper.json"} <= {f.name for f in files}
    for path in files:
        obj = json.loads(path.read_text())
        assert load_proxy(str(path)).text == ProxyGraph.parse(obj["proxy"]).text
        if "scores" in obj:  # an evolve output
            made = [k for k in obj if k == "command" or k.startswith("command_at_commit_")]
            assert len(made) == 1, path.name
            assert obj[made[0]].startswith("autogas evolve ")
    shipped = json.loads((root / "autogas_evolved.json").read_text())
    assert structural_reason(ProxyGraph.parse(shipped["proxy"])) is None
    assert shipped["command"].count("--bench ") >= 2
    assert sum(b["role"] == "labelled" for b in shipped["benches"].values()) >= 2
