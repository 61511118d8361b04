"""Nodes and the remotes that drive them: local network namespaces or SSH hosts."""
