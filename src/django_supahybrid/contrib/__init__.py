"""Optional integrations with other packages, each imported only when that package is."""
