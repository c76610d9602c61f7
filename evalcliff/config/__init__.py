"""Variant configuration: which model each named variant is and how it is served."""

from evalcliff.config.variants import VariantConfig, load_variants, resolve_variant

__all__ = ["VariantConfig", "load_variants", "resolve_variant"]
