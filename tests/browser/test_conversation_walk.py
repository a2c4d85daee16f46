"""Issue 35 walked in the sandbox page, point by point, as the people on it read it: nothing stale keeps live
buttons, dates read as people say them, nothing anyone wrote is lost, every action is answered, presses that cannot
be undone ask first, the mediators' details, other people's text kept in its place, the page in each person's own
time and locale, and a reload that loses nothing. A screenshot per step (``tests/browser/conftest.py``)."""

import re

from playwright.sync_api import Locator, expect

from tests.browser.conftest import Story
from tests.browser.test_sandbox_stories import ask_for_a_refund, people

OVERRIDE = "Invoice \u202egpj.exe\u202c is not the logo we asked for."
LONG_REASON = "The concepts follow the signed brief, page by page. " * 36 + "Signed off on 12 Nov."  # ~1,900
LONG_STATEMENT = "Every concept follows the brief we both signed. " * 25 + "The end of my statement."


def next_deadline(story: Story) -> None:
    story.page.get_by_role("button", name="Next deadline ▸").click()
    story.page.wait_for_function("!document.body.classList.contains('acting')")


def same(story: Story, message: Locator) -> Locator:
    """The message ``message`` finds now, found by its place in Slack however its text changes later."""
    return story.page.locator(f'[id="{message.get_attribute("id")}"]')


def test_the_conversation_as_the_people_in_it_read_it(story):
    client, freelancer, mediator = people(story)

    # 3, 7: the limit is said before typing; a right-to-left override in someone's text reverses nothing.
    client.root.get_by_role("button", name="⚡ Request a refund").click()
    client.choose("Contract", "Logo redesign")
    client.choose("Item", "Concepts")
    expect(client.modal).to_contain_text("Up to 2,000 characters.")
    client.fill({"Amount (USD)": "100.00", "Reason": OVERRIDE})
    story.shot("the-limit-is-said-before-typing")
    client.submit("Send request")
    case_id = re.search(r"R-[0-9A-Z]{6}", client.dm("Your refund request").inner_text()).group(0)
    asked = freelancer.titled(f"Refund request {case_id}")
    expect(asked).to_contain_text("Invoice gpj.exe is not the logo we asked for.")
    assert "\u202e" not in asked.inner_text()
    # 9: Bruno's Slack is in German: his DM and his form's hint write numbers as he does.
    expect(asked).to_contain_text("100,00\xa0$")
    story.shot("his-dm-in-his-locale-and-nothing-reversed")

    # 3: a long decline reason is cut in the client's DM with a pointer, and the case thread carries it whole.
    freelancer.press(case_id, "Decline")
    expect(freelancer.modal).to_contain_text("Up to 2.000 characters.")
    story.shot("his-form-in-his-locale")
    freelancer.fill({"Why are you declining?": LONG_REASON})
    freelancer.submit("Decline")
    declined = client.titled(f"Your refund request {case_id}")
    expect(declined).to_contain_text("the whole of it is in the case thread")
    expect(declined).not_to_contain_text("Signed off on 12 Nov.")
    expect(client.posted(f"Case {case_id}")).to_contain_text("Signed off on 12 Nov.")
    # 2: a date reads as people say it: "today at …", never "on today".
    expect(declined).to_contain_text("today at")
    assert "on today" not in declined.inner_text().lower()
    story.shot("cut-in-the-dm-whole-in-the-thread")

    # 1, 5: the client's reminder loses its buttons once she has answered, and rejecting asks first.
    client.press(case_id, "Request again")
    client.submit("Start escrow refund")
    freelancer.press(case_id, "Dispute")
    freelancer.fill({"Your statement": LONG_STATEMENT})
    freelancer.submit("Send")
    next_deadline(story)
    reminder = same(story, client.dm("Reminder:"))  # the same message, updated
    expect(reminder.get_by_role("button", name="Reject: ask a mediator")).to_be_visible()
    story.shot("a-reminder-with-its-buttons")
    client.titled(f"Your refund request {case_id}").get_by_role("button", name="Reject: ask a mediator").click()
    expect(story.page.locator("dialog.confirm")).to_contain_text("$100.00")
    story.shot("rejecting-asks-first")
    client.confirm("Ask a mediator")
    expect(reminder).to_contain_text("Out of date")
    expect(reminder.get_by_role("button")).to_have_count(0)
    story.shot("the-reminder-is-out-of-date")

    # 4: evidence for the mediator only is confirmed to its sender.
    freelancer.press(case_id, "Add evidence")
    freelancer.fill({"Description": "The signed brief, page 2."})
    freelancer.modal.get_by_label("The mediator only").check()
    freelancer.submit("Add")
    expect(freelancer.dm("mediator only")).to_contain_text("the other party does not see it")
    story.shot("mediator-only-evidence-is-confirmed")

    # 3, 6: the card cuts the statement with a pointer to the whole, and counts its evidence by plural rules.
    card = mediator.card(case_id)
    expect(card).to_contain_text("1 piece ·")
    expect(card).not_to_contain_text("The end of my statement.")
    mediator.press_card(case_id, "Read in full")
    expect(mediator.modal).to_contain_text("The end of my statement.")
    story.shot("the-mediator-reads-in-full")
    mediator.modal.get_by_role("button", name="Close").click()
    expect(mediator.modal).to_have_count(0)

    # 1: a question answered says so, and loses its Answer button.
    mediator.press_card(case_id, "Claim")
    mediator.press_card(case_id, "Ask for information")
    mediator.modal.get_by_label("The freelancer").check()
    mediator.fill({"Question": "Which page of the brief lists the concepts?"})
    mediator.submit("Ask")
    question = same(story, freelancer.dm("Which page of the brief"))
    question.get_by_role("button", name="Answer").click()
    freelancer.fill({"Your answer": "Page 2, the list of five."})
    freelancer.submit("Send")
    expect(question).to_contain_text("Answered")
    expect(question.get_by_role("button", name="Answer")).to_have_count(0)
    story.shot("the-question-is-answered")


def test_the_sandbox_reads_as_the_people_on_it_and_a_reload_loses_nothing(story):
    client, freelancer, mediator = people(story)

    # Each column in its person's own time, named as people say it, with UTC beside it.
    expect(client.root.locator(".zone")).to_have_text("New York, EST · en-US")
    expect(freelancer.root.locator(".zone")).to_have_text("Berlin, CET · de-DE")
    expect(mediator.root.locator(".zone")).to_have_text("Singapore, SGT · en-SG")
    expect(client.root.locator(".their-now")).to_contain_text("5:")  # 10:00 UTC is 5 AM in New York
    expect(client.root.locator(".their-now")).to_contain_text("10:")
    case_id = ask_for_a_refund(client, "Logo redesign", "Concepts", "50.00", story)
    expect(freelancer.root.locator(".their-next")).to_contain_text(case_id)
    expect(freelancer.root.locator(".their-next")).to_contain_text("their time (")
    expect(freelancer.root.locator(".their-next")).to_contain_text("UTC)")
    story.shot("each-column-in-its-own-time")

    # Private notes can be dismissed, and stay dismissed.
    client.command("list")
    note = client.root.locator(".private-note")
    expect(note).to_contain_text(case_id)
    story.shot("a-private-note")
    note.get_by_role("button", name="Dismiss this message").click()
    expect(note).to_have_count(0)
    story.shot("dismissed")

    # A reload keeps who the third column acts as, what was typed, and the dismissal.
    story.page.get_by_label("Acting as").select_option(label="Dana Mediator")
    expect(mediator.root.locator(".zone")).to_have_text("London, GMT · en-GB")
    client.root.get_by_label(re.compile("Type a command")).fill("/refund status " + case_id)
    freelancer.press(case_id, "Decline")
    freelancer.fill({"Why are you declining?": "Half typed, then the page was reloaded"})
    story.shot("before-the-reload")
    story.page.reload()
    story.page.wait_for_selector(".person.client")
    expect(story.page.get_by_label("Acting as")).to_have_value("U0MEDIATE2")
    expect(client.root.get_by_label(re.compile("Type a command"))).to_have_value("/refund status " + case_id)
    expect(freelancer.field("Why are you declining?")).to_have_value("Half typed, then the page was reloaded")
    expect(client.root.locator(".private-note")).to_have_count(0)
    story.shot("after-the-reload")
    freelancer.field("Why are you declining?").fill("Delivered as briefed.")
    freelancer.submit("Decline")
    expect(client.titled(f"Your refund request {case_id}")).to_contain_text("Declined")
