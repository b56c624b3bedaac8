"""localllm.nvim: private, local code completion for Neovim."""

__version__ = "0.1.0"
__all__ = ["__version__"]
