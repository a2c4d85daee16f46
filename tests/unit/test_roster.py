"""Who mediates where: the settings' default desk, and each workspace's own (design §6)."""

from bot.services.roster import Desk, Roster


def desks():
    return {"T0B": Desk("C0MEDB", frozenset({"U0MEDB"}), group="S0B")}


def test_a_workspace_with_a_desk_of_its_own_counts_only_its_mediators_and_posts_cards_to_its_channel():
    roster = Roster(Desk(None, frozenset({"U0DEFAULT"})), desks=desks, members=lambda team, group: {f"U0{team}{group}"})
    roster.refresh()
    assert roster.is_mediator("T0B", "U0MEDB")
    assert roster.is_mediator("T0B", "U0T0BS0B")  # its user group, listed with its own workspace
    assert not roster.is_mediator("T0B", "U0DEFAULT")
    assert roster.is_mediator("T0A", "U0DEFAULT")  # the others keep the settings' desk
    assert not roster.is_mediator("T0A", "U0MEDB")
    assert (roster.channel("T0B", "C0DEFAULT"), roster.channel("T0A", "C0DEFAULT")) == ("C0MEDB", "C0DEFAULT")


def test_a_failed_listing_keeps_the_last_members_and_a_failed_read_the_last_desks():
    answers = iter([{"U0FIRST"}, RuntimeError("Slack is down")])

    def members(team, group):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    reads = iter([desks(), desks(), RuntimeError("database is away")])

    def read():
        answer = next(reads)
        if isinstance(answer, Exception):
            raise answer
        return answer

    roster = Roster(desks=read, members=members)
    roster.refresh()
    assert roster.is_mediator("T0B", "U0FIRST")
    roster.refresh()  # Slack fails: the members listed before stay
    assert roster.is_mediator("T0B", "U0FIRST")
    roster.refresh()  # the database fails: the desks read before stay
    assert roster.is_mediator("T0B", "U0FIRST")
    assert roster.channel("T0B", None) == "C0MEDB"
