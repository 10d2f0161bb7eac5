"""Small pieces every process of the project shares: settings rules, nothing product-specific."""
