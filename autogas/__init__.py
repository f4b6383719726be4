"""autogas: training-free generative architecture search with evolved zero-cost proxies."""

__version__ = "0.1.0"
