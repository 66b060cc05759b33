"""ringcentral."""
