"""The mediators' desk (App Home): what a mediator sees and does there, through Slack's surfaces; parties keep
their own Home."""

from storage.tables import AuditRow
from tests.e2e.conftest import CLIENT, FREELANCER, MEDIATOR, MEDIATOR2, Bot, at_once
from tests.e2e.test_escalation import ask_for_refund, card, click, dm, escalated
from tests.slack_standin import button_labels, text_of


def desk(bot: Bot, user: str = MEDIATOR) -> dict:
    bot.user(user).open_home()
    bot.drain()
    return bot.standin.homes[user]


def test_a_mediator_opens_home_and_sees_the_queue_unclaimed_first(bot):
    waiting = ask_for_refund(bot, "Backend work", "Week of 09 Nov 2026", "50.00")  # not with a mediator yet
    case_id = escalated(bot)
    home = desk(bot)
    shown = text_of(home["blocks"])
    assert "Mediation desk" in shown
    assert "1 unclaimed · 0 yours · 1 other open cases" in shown
    unclaimed, rest = shown.index("*Unclaimed* (1)"), shown.index("*Other open cases* (1)")
    assert unclaimed < shown.index(case_id) < shown.index("*Yours* (0)") < rest < shown.index(waiting)
    assert f"<@{CLIENT}> and <@{FREELANCER}> · *$100.00* at stake" in shown
    assert "Mediation: waiting for a mediator · waiting since <!date^" in shown
    assert button_labels(home["blocks"]).count("Claim") == 1
    assert "Open card" not in button_labels(home["blocks"])  # the request has no card; the escalated case has Claim
    assert "Mediation desk" not in text_of(desk(bot, CLIENT)["blocks"])  # parties keep their own Home


def test_claiming_from_the_desk_takes_the_case_and_the_desk_and_card_follow(bot):
    case_id = escalated(bot)
    home = desk(bot)
    assert bot.user(MEDIATOR).press(home, "Claim").status == 200
    bot.drain()
    assert (bot.case(case_id).mediator_id, bot.case(case_id).state) == (MEDIATOR, "claimed")
    after = bot.standin.homes[MEDIATOR]
    shown = text_of(after["blocks"])
    assert "0 unclaimed · 1 yours · 0 other open cases" in shown
    assert shown.index("*Yours* (1)") < shown.index(case_id)
    assert "Open card" in button_labels(after["blocks"])  # a link to the card, now its permalink is known
    assert "Propose" in button_labels(card(bot, case_id).blocks)


def test_two_mediators_claiming_from_their_desks_one_wins_and_the_other_desk_says_who(bot):
    case_id = escalated(bot)
    homes = {user: desk(bot, user) for user in (MEDIATOR, MEDIATOR2)}
    at_once(lambda user: bot.user(user).press(homes[user], "Claim"), homes)
    bot.drain()
    winner = bot.case(case_id).mediator_id
    loser = MEDIATOR2 if winner == MEDIATOR else MEDIATOR
    assert bot.count(AuditRow, case_id=case_id, to_state="claimed") == 1
    told = text_of(bot.standin.homes[loser]["blocks"])
    assert (
        f"already claimed by <@{winner}>" in told
        or "claimed" in told.split("Mediation desk")[1].split("*Unclaimed*")[0]
    )
    assert f"held by <@{winner}>" in told
    assert "1 yours" in text_of(bot.standin.homes[winner]["blocks"])


def test_filters_narrow_the_desk_and_say_so(bot):
    escalated(bot)  # fixed price
    hourly = ask_for_refund(bot, "Backend work", "Week of 16 Nov 2026", "10.00")
    home = desk(bot)
    bot.user(MEDIATOR).pick(home, "Every kind", "Hourly")
    bot.drain()
    shown = text_of(bot.standin.homes[MEDIATOR]["blocks"])
    assert "0 unclaimed · 0 yours · 1 other open cases (filtered)" in shown
    assert hourly in shown
    assert "None under these filters." in shown
    bot.user(MEDIATOR).pick(bot.standin.homes[MEDIATOR], "Every stage", "Mediation")
    bot.drain()
    assert "0 unclaimed · 0 yours · 0 other open cases (filtered)" in text_of(bot.standin.homes[MEDIATOR]["blocks"])
    bot.user(MEDIATOR).pick(bot.standin.homes[MEDIATOR], "Every kind", "Every kind")
    bot.drain()
    assert "1 unclaimed · 0 yours · 0 other open cases (filtered)" in text_of(bot.standin.homes[MEDIATOR]["blocks"])
    bot.user(MEDIATOR).pick(bot.standin.homes[MEDIATOR], "Every stage", "Every stage")
    bot.drain()
    everything = text_of(bot.standin.homes[MEDIATOR]["blocks"])
    assert "1 unclaimed · 0 yours · 1 other open cases\n" in everything  # no filter left


def test_a_party_pressing_a_forged_desk_button_gets_their_own_home_and_nothing_changes(bot):
    case_id = escalated(bot)
    home = desk(bot)
    before = bot.case(case_id).version
    assert bot.user(CLIENT).press(home, "Claim").status == 200
    bot.drain()
    assert bot.case(case_id).version == before
    assert "Mediation desk" not in text_of(bot.standin.homes[CLIENT]["blocks"])


def test_the_card_shows_each_partys_record_to_mediators_and_history_opens_it_whole(bot):
    earlier = ask_for_refund(bot, "Backend work", "Week of 09 Nov 2026", "50.00")
    click(bot, FREELANCER, dm(bot, FREELANCER, earlier), "Approve")
    case_id = escalated(bot)
    shown = text_of(card(bot, case_id).blocks)
    assert "*Client's record* (last 90 days, other cases): 1 request made on" in shown
    assert "1 of 1 ended refunded" in shown
    assert "*Freelancer's record* (last 90 days, other cases): 1 request received on" in shown
    assert bot.user(MEDIATOR2).click(card(bot, case_id), "History").status == 200  # any mediator, before a claim
    history = bot.standin.latest_view(MEDIATOR2)
    assert history["title"]["text"] == "Party history"
    whole = text_of(history["blocks"])
    for said in ("*Last 90 days*", "*All time*", f"<@{CLIENT}>", f"<@{FREELANCER}>"):
        assert said in whole
    # The parties never see a record: not in their messages, and the History button is refused to them.
    for party in (CLIENT, FREELANCER):
        for message in bot.standin.dms(party):
            assert "record" not in text_of(message.blocks)
    views_before = len(bot.standin.views.by_id)
    bot.user(CLIENT).click(card(bot, case_id), "History")
    bot.drain()
    assert len(bot.standin.views.by_id) == views_before
