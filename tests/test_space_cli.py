import json

from autogas.cli import main


def test_space_sizes_printed(capsys):
    assert main(["space", "--space", "cyclegan", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["size"] == 8**2 * 5**18 * 3**2 and info["genes"] == 22  # ≈ 2.2e15
    assert main(["space", "--space", "gan-compression", "--config-set", "channels-48", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["size"] == 5184
    assert main(["space", "--space", "cyclegan", "--part", "discriminator", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["size"] == 8**4


def test_space_bad_name(capsys):
    assert main(["space", "--space", "nope"]) == 2
    assert "known: cyclegan, gan-compression" in capsys.readouterr().err
