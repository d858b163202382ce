"""The pytest face of the harness: options, settings, fixtures and reports.

The entry module is :mod:`plugins.plugin`, registered through the ``pytest11``
entry point only. Nothing here imports torch, transformers or vllm at import
time, so ``pytest --help`` stays fast wherever the plugin is installed.
"""
