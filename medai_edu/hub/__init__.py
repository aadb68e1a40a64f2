"""The course's JupyterHub: links into it, its spawner and authenticator, and a local hub."""
