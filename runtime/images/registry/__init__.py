"""OCI distribution client: transport, auth, endpoint configuration, credentials."""
