"""What a proxy is (one resolver for every ``--proxy``) and scoring a proxy on a feature cache."""
from autogas.score.on_cache import CacheScore, describe_scores, score_on_cache
from autogas.score.resolve import NetworkProxy, resolve_proxy

__all__ = ["CacheScore", "NetworkProxy", "describe_scores", "resolve_proxy", "score_on_cache"]
