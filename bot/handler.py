"""The bot's turns: what a message or a card button asks for, answered through the admin use cases.

The bot holds no sync logic (DESIGN §1): every change goes through `presence_sync.admin.Admin`
with the admin's identity as the actor, so it lands in the audit log. Replies are Adaptive
Cards (`bot.cards`). In a team or group chat the bot points to its personal chat and changes
nothing; anyone who is not an admin may ask `status` (about themselves) and `help`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from botbuilder.core import (
    ActivityHandler,
    CardFactory,
    InvokeResponse,
    MessageFactory,
    TurnContext,
)
from botbuilder.schema import Activity, AdaptiveCardInvokeResponse

from bot import cards
from bot.commands import Command, CommandName, Empty, Misspelt, mentions_from_entities, parse
from bot.conversations import Confirmations, Pending
from bot.identity import Admins, Person, person_from
from bot.notify import SERVICE_URL_KEY
from bot.people import Candidate, resolve
from presence_sync.admin import Admin, JobTicket, UnknownUsersError
from presence_sync.errors import ConflictError, NotFoundError, ValidationError
from presence_sync.store.base import Store

__all__ = ["PresenceSyncBot"]

logger = logging.getLogger(__name__)

CARD = "application/vnd.microsoft.card.adaptive"
# Turn state: the job whose card this turn sends (`on_job` follows it once sent).
_JOB = "presence_sync.job"
USERS_PAGE = cards.USERS_PAGE_SIZE

Card = cards.Card


class PresenceSyncBot(ActivityHandler):  # type: ignore[misc]
    """Answers admins and people in Teams; every change goes through `Admin`."""

    def __init__(
        self,
        store: Store,
        admin: Admin,
        admins: Admins,
        confirmations: Confirmations,
        links: cards.ConnectUrls,
        on_job: Callable[[TurnContext, str, str], Awaitable[None]] | None = None,
        write_budget: Callable[[], Awaitable[cards.WriteBudget | None]] | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.admin = admin
        self.admins = admins
        self.confirmations = confirmations
        self.links = links
        # Told about each job card sent (turn, job id, card activity id), to update it in place.
        self.on_job = on_job
        self._service_url: str | None = None
        # RingCentral's presence-write allowance in use, for the status card.
        self.write_budget = write_budget

    # -- every activity ---------------------------------------------------------------------

    async def on_turn(self, turn_context: TurnContext) -> None:
        """Remember how to reach a person in their personal chat, then handle the activity."""
        await self._remember(turn_context)
        await super().on_turn(turn_context)

    async def _remember(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        conversation = activity.conversation
        sender = activity.from_property
        if conversation is None or sender is None or _conversation_type(activity) != "personal":
            return
        aad_id = getattr(sender, "aad_object_id", None)
        if not aad_id:
            return
        reference = TurnContext.get_conversation_reference(activity).serialize()
        await self.store.put_conversation_ref(aad_id, reference)
        if activity.service_url and activity.service_url != self._service_url:
            # Where new chats are opened (Teams' service URL is per region, not fixed).
            await self.store.put_conversation_ref(
                SERVICE_URL_KEY, {"serviceUrl": activity.service_url}
            )
            self._service_url = activity.service_url

    # -- messages ---------------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        """A message: parse it and answer with a card."""
        activity = turn_context.activity
        if _conversation_type(activity) != "personal":
            await self._reply(turn_context, cards.team_chat_card(self._chat_link(activity)))
            return
        person = await self._person(activity)
        text = activity.text or ""
        if not text and isinstance(activity.value, Mapping):
            text = str(activity.value.get("text", ""))  # a card's submit carrying a command
        recipient = activity.recipient.id if activity.recipient else ""
        parsed = parse(text, mentions_from_entities(_entities(activity)), recipient)
        await self._reply(turn_context, await self._answer(parsed, person, turn_context))

    async def _answer(
        self, parsed: Command | Misspelt | Empty, person: Person, turn_context: TurnContext
    ) -> Card:
        is_admin = await self.admins.is_admin(person.email, person.aad_id)
        if isinstance(parsed, Empty):
            return cards.help_card(is_admin)
        if isinstance(parsed, Misspelt):
            return cards.did_you_mean_card(parsed.word, parsed.suggestion)
        name = parsed.name
        if name is CommandName.HELP:
            return cards.help_card(is_admin)
        if name is CommandName.STATUS and not is_admin:
            return await self._my_status(person)
        if not is_admin:
            return cards.refused_card(_what(name))
        return await self._command(parsed, person, turn_context)

    async def _command(self, command: Command, person: Person, turn_context: TurnContext) -> Card:
        name = command.name
        actor = person.label
        if name is CommandName.STATUS:
            budget = await self.write_budget() if self.write_budget is not None else None
            return cards.status_card(await self.admin.status(), budget)
        if name in (CommandName.SYNC_ALL, CommandName.DISABLE):
            preview = await self.admin.preview(str(name))
            token = await self.confirmations.ask(str(name), _who(person), actor)
            shown = cards.Preview(
                change=preview.change, already=preview.unchanged, unmatched=dict(preview.unmatched)
            )
            return cards.confirm_card(name, shown, token)
        if name is CommandName.ENABLE:
            await self.admin.enable(actor)
            return cards.status_card(await self.admin.status())
        if name is CommandName.RULES:
            return cards.rules_card(await self.admin.get_rules())
        if name is CommandName.USERS:
            page = await self.admin.list_users(command.argument, limit=USERS_PAGE)
            return cards.users_card(page, filter=command.argument, cursor=None)
        if name is CommandName.REPORT:
            return await self._report(command.argument)
        if name is CommandName.CONNECT:
            return cards.connect_card(await self.admin.status(), self.links)
        # sync / unsync people
        return await self._selection(name, command, actor, turn_context)

    async def _selection(
        self, name: CommandName, command: Command, actor: str, turn_context: TurnContext
    ) -> Card:
        resolution = await resolve(command.people, self._lookup)
        for ambiguous, candidates in resolution.ambiguous.items():
            # One name at a time: the admin picks, the rest can be asked again.
            return cards.pick_card(name, ambiguous, candidates)
        if not resolution.found:
            return cards.unknown_card(resolution.unknown or tuple(p.text for p in command.people))
        emails = [c.email for c in resolution.found]
        start = self.admin.sync_users if name is CommandName.SYNC else self.admin.unsync_users
        ticket = await start(actor, emails)
        await self._job_sent(turn_context, ticket)
        if resolution.unknown:
            # The named people are on their way; the unknown names are listed back.
            await self._reply(turn_context, cards.job_card(ticket.job))
            turn_context.turn_state.pop(_JOB, None)
            return cards.unknown_card(resolution.unknown)
        return cards.job_card(ticket.job)

    async def _lookup(self, name: str) -> Sequence[Candidate]:
        if "@" in name:
            link = await self.store.get_link_by_email(name)
            if link is not None:
                return [Candidate(link.id, link.upn or link.email, link.display_name)]
        page = await self.store.list_links(search=name, limit=20)
        return [
            Candidate(link.id, link.upn or link.email, link.display_name) for link in page.links
        ]

    async def _report(self, job_id: str | None) -> Card:
        if job_id:
            try:
                return cards.job_card(await self.admin.get_job(job_id))
            except NotFoundError:
                return cards.did_you_mean_card(f"report {job_id}", "report")
        status = await self.admin.status()
        if status.last_job is None:
            return cards.did_you_mean_card("report", "sync all")
        return cards.job_card(status.last_job)

    async def _my_status(self, person: Person) -> Card:
        view = None
        if person.email:
            page = await self.admin.list_users(person.email, limit=5)
            view = next((u for u in page.users if u.id == person.link_id), None)
        return cards.my_status_card(view, await self.admin.get_rules())

    async def _person(self, activity: Activity) -> Person:
        sender = activity.from_property
        return await person_from(
            self.store,
            getattr(sender, "id", "") or "",
            getattr(sender, "aad_object_id", None),
            getattr(sender, "name", "") or "",
        )

    def _chat_link(self, activity: Activity) -> str:
        bot_id = (activity.recipient.id if activity.recipient else "").removeprefix("28:")
        return f"https://teams.microsoft.com/l/chat/0/0?users=28:{bot_id}"

    async def _reply(self, turn_context: TurnContext, card: Card) -> None:
        sent = await turn_context.send_activity(
            MessageFactory.attachment(CardFactory.adaptive_card(card))
        )
        job_id = turn_context.turn_state.get(_JOB)
        if job_id and sent is not None and self.on_job is not None:
            await self.on_job(turn_context, job_id, sent.id)

    async def _job_sent(self, turn_context: TurnContext, ticket: JobTicket) -> None:
        # The card is sent after this returns; the watcher is told once it has an id.
        turn_context.turn_state[_JOB] = ticket.job.id

    # -- card buttons (Action.Execute) ------------------------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        """An Action.Execute button: do what its verb says and answer with the new card."""
        activity = turn_context.activity
        if activity.name != "adaptiveCard/action":
            return InvokeResponse(status=200)
        if _conversation_type(activity) != "personal":
            return _invoke_card(cards.team_chat_card(self._chat_link(activity)))
        value = _mapping(activity.value)
        action = _mapping(value.get("action"))
        verb = str(action.get("verb") or "")
        data = _mapping(action.get("data"))
        person = await self._person(activity)
        return _invoke_card(await self._verb(verb, data, person, turn_context))

    async def _verb(
        self, verb: str, data: Mapping[str, Any], person: Person, turn_context: TurnContext
    ) -> Card:
        if verb == cards.Verb.RUN:
            recipient = (
                turn_context.activity.recipient.id if turn_context.activity.recipient else ""
            )
            return await self._answer(
                parse(str(data.get("text", "")), (), recipient), person, turn_context
            )
        is_admin = await self.admins.is_admin(person.email, person.aad_id)
        if not is_admin:
            return cards.refused_card("change what Presence Sync does")
        actor = person.label
        try:
            if verb in (cards.Verb.CONFIRM, cards.Verb.CANCEL):
                return await self._confirmation(
                    verb, str(data.get("token", "")), person, turn_context
                )
            if verb in (cards.Verb.SYNC_ONE, cards.Verb.UNSYNC_ONE, cards.Verb.PICK):
                return await self._one(verb, data, actor, turn_context)
            if verb == cards.Verb.USERS_PAGE:
                flt = data.get("filter") or None
                cursor = data.get("cursor") or None
                if not isinstance(flt, str | None) or not isinstance(cursor, str | None):
                    # The users cards carry text or null here: this button is not one of theirs.
                    return cards.did_you_mean_card(verb, "users")
                page = await self.admin.list_users(flt, cursor, limit=USERS_PAGE)
                return cards.users_card(page, filter=flt, cursor=cursor)
            if verb == cards.Verb.RULES_SAVE:
                return await self._save_rules(data, actor)
            if verb == cards.Verb.RULES_RESET:
                return cards.reset_confirm_card(await self.admin.get_rules())
            if verb == cards.Verb.RULES_RESET_CONFIRM:
                view = await self.admin.reset_rules(actor, _version(data))
                return cards.rules_card(view, message="The rules are back to the defaults.")
            if verb == cards.Verb.RULES_RESET_CANCEL:
                return cards.rules_card(await self.admin.get_rules())
            if verb in (cards.Verb.RETRY, cards.Verb.JOB_REFRESH):
                job = await self.admin.get_job(str(data.get("job_id", "")))
                if verb == cards.Verb.RETRY and job.failures:
                    ticket = await self.admin.sync_users(actor, [user for user, _ in job.failures])
                    await self._job_sent(turn_context, ticket)
                    return cards.job_card(ticket.job)
                return cards.job_card(job)
        except ConflictError:
            return cards.rules_card(await self.admin.get_rules(), message=cards.RULES_CONFLICT)
        except UnknownUsersError as err:
            return cards.unknown_card(err.names + err.ambiguous)
        except NotFoundError as err:
            return cards.did_you_mean_card(str(err), "report")
        except ValidationError as err:
            return cards.refused_card(str(err))
        return cards.did_you_mean_card(verb, "help")

    async def _confirmation(
        self, verb: str, token: str, person: Person, turn_context: TurnContext
    ) -> Card:
        taken = await self.confirmations.take(token, _who(person))
        if taken is None:
            return cards.expired_card(CommandName.SYNC_ALL)
        if isinstance(taken, str):
            return cards.not_yours_card(taken)
        kind = _kind(taken)
        if verb == cards.Verb.CANCEL:
            return cards.cancelled_card(kind)
        actor = person.label
        if kind is CommandName.SYNC_ALL:
            ticket = await self.admin.sync_all(actor)
            await self._job_sent(turn_context, ticket)
            return cards.job_card(ticket.job)
        await self.admin.disable_all(actor)
        return cards.confirmed_card(kind)

    async def _one(
        self, verb: str, data: Mapping[str, Any], actor: str, turn_context: TurnContext
    ) -> Card:
        link = await self.store.get_link(str(data.get("link_id", "")))
        if link is None:
            return cards.unknown_card(["that person"])
        unsync = verb == cards.Verb.UNSYNC_ONE or (
            verb == cards.Verb.PICK and data.get("command") == "unsync"
        )
        start = self.admin.unsync_users if unsync else self.admin.sync_users
        ticket = await start(actor, [link.upn or link.email])
        await self._job_sent(turn_context, ticket)
        return cards.job_card(ticket.job)

    async def _save_rules(self, data: Mapping[str, Any], actor: str) -> Card:
        version = _version(data)
        rules = {
            key.removeprefix(cards.RULE_INPUT_PREFIX): str(value)
            for key, value in data.items()
            if key.startswith(cards.RULE_INPUT_PREFIX) and value
        }
        view = await self.admin.set_rules(actor, rules, version)
        on = str(data.get(cards.RULES_INPUT_CUSTOMISATION, "")).lower() == "true"
        if on != view.call_presence_customisation:
            view = await self.admin.set_call_presence_customisation(actor, on, view.version)
        preserve = str(data.get(cards.RULES_INPUT_PRESERVE, "")).lower() == "true"
        if preserve != view.preserve_during_inactivity:
            view = await self.admin.set_preserve_during_inactivity(actor, preserve, view.version)
        return cards.rules_card(view, message=cards.RULES_SAVED)


def _conversation_type(activity: Activity) -> str:
    conversation = activity.conversation
    return str(getattr(conversation, "conversation_type", None) or "personal")


def _entities(activity: Activity) -> list[Mapping[str, Any]]:
    out = []
    for entity in activity.entities or ():
        out.append(entity.serialize() if hasattr(entity, "serialize") else dict(entity))
    return out


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _who(person: Person) -> str:
    return person.aad_id or person.teams_id


def _kind(pending: Pending) -> CommandName:
    return CommandName.SYNC_ALL if pending.kind == "sync all" else CommandName.DISABLE


def _version(data: Mapping[str, Any]) -> int | None:
    try:
        return int(data["version"])
    except (KeyError, TypeError, ValueError):
        return None


def _what(name: CommandName) -> str:
    return {
        CommandName.SYNC_ALL: "sync everyone",
        CommandName.SYNC: "sync people",
        CommandName.UNSYNC: "unsync people",
        CommandName.DISABLE: "turn syncing off",
        CommandName.ENABLE: "turn syncing on",
        CommandName.RULES: "see or change the call presence rules",
        CommandName.USERS: "list everyone's sync state",
        CommandName.REPORT: "see job reports",
        CommandName.CONNECT: "connect Microsoft and RingCentral",
    }.get(name, "do that")


def _invoke_card(card: Card) -> InvokeResponse:
    # botbuilder 4.17's CloudAdapter serializes the body with msrest: keep it a model.
    answer = AdaptiveCardInvokeResponse(status_code=200, type=CARD, value=card)
    return InvokeResponse(status=200, body=answer)
