"""What an admin's browser is told when a sign-in or consent comes back."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SignInOutcome"]


@dataclass(frozen=True)
class SignInOutcome:
    """The result page of a sign-in: success or failure, a title, a sentence and notes."""

    ok: bool
    title: str
    message: str
    notes: list[str] = field(default_factory=list)
    status: int = 200

    @classmethod
    def succeeded(cls, title: str, message: str, notes: list[str] | None = None) -> SignInOutcome:
        """A sign-in that did what it set out to do."""
        return cls(True, title, message, list(notes or ()))

    @classmethod
    def failed(
        cls, title: str, message: str | None, notes: list[str] | None = None
    ) -> SignInOutcome:
        """A sign-in the provider refused or that left something missing."""
        return cls(False, title, message or "Something went wrong.", list(notes or ()))

    @classmethod
    def unknown_state(cls) -> SignInOutcome:
        """A redirect whose `state` is unknown, expired or already used: refused, nothing done."""
        return cls(
            False,
            "This sign-in link is no longer valid",
            "It was already used, it expired, or it was not started here. Nothing was changed. "
            "Start again from the Presence Sync tab.",
            status=400,
        )

    @classmethod
    def not_started_by_admin(cls, problem: str) -> SignInOutcome:
        """A redirect whose step no signed-in admin stands behind: refused, nothing done."""
        return cls(
            False,
            "This sign-in was not started by a signed-in administrator",
            f"{problem} Nothing was changed. Sign in to the Presence Sync tab and start the "
            "step again from there.",
            status=403,
        )

    @classmethod
    def not_started_here(cls) -> SignInOutcome:
        """A redirect brought to another browser than the one that started it."""
        return cls(
            False,
            "This sign-in was not started in this browser",
            "Its answer came back to a browser that did not start it, so nothing was changed. "
            "Start the step again from the Presence Sync tab in this browser.",
            status=400,
        )
