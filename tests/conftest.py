"""Suite-wide fixtures: the full sandbox is available to every test folder."""

pytest_plugins = ["tests.sandbox_fixtures"]
