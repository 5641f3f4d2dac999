"""Entry point."""


def main() -> None:
    """Run the CLI."""
