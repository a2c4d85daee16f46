"""The sandbox page in a real browser: whole stories played by the client, the freelancer and a mediator, each from
their own column, as a newcomer would, with a screenshot per step (``tests/browser/conftest.py``)."""

import re

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import Story


class Person:
    """One column of the page: what that person sees and does."""

    def __init__(self, page: Page, role: str) -> None:
        self.page = page
        self.root = page.locator(f".person.{role}")

    @property
    def modal(self) -> Locator:
        return self.root.locator(".modal")

    def dm(self, text: str) -> Locator:
        """The newest direct message from refund-bot that reads ``text``."""
        return self.root.locator("[data-surface=dms] > li > article.msg").filter(has_text=text).last

    def titled(self, heading: str) -> Locator:
        """The direct message headed ``heading`` (the case's own DM, not a reminder about it)."""
        headed = self.page.get_by_role("heading", name=heading, exact=True)
        return self.root.locator("[data-surface=dms] > li > article.msg").filter(has=headed)

    def posted(self, text: str) -> Locator:
        """The newest message (with its thread) in the person's channel: the case threads, or #mediators."""
        return self.root.locator("[data-surface=channel] > li > article.msg").filter(has_text=text).last

    def press(self, text: str, label: str) -> None:
        """Press a button of the DM that reads ``text``."""
        self.dm(text).get_by_role("button", name=label, exact=True).first.click()

    def press_card(self, case_id: str, label: str) -> None:
        self.card(case_id).get_by_role("button", name=label, exact=True).first.click()

    def card(self, case_id: str) -> Locator:
        return self.posted(f"case {case_id}")

    def command(self, text: str) -> None:
        self.root.get_by_label(re.compile("Type a command")).fill(f"/refund {text}")
        self.root.get_by_role("button", name="Send", exact=True).click()

    def field(self, label: str) -> Locator:
        """The modal's input labelled ``label`` (an optional one says so after its label)."""
        return self.modal.get_by_label(re.compile(rf"^{re.escape(label)}( \(optional\))?$"))

    def choose(self, label: str, text: str) -> None:
        """Pick the option that reads ``text`` in the modal's select labelled ``label``."""
        select = self.field(label)
        value = select.locator("option", has_text=text).first.get_attribute("value")
        select.select_option(value=value)

    def fill(self, values: dict[str, str]) -> None:
        for label, value in values.items():
            self.field(label).fill(value)

    def submit(self, button: str) -> None:
        self.modal.get_by_role("button", name=button, exact=True).click()
        expect(self.modal).to_have_count(0)

    def confirm(self, button: str) -> None:
        self.page.locator("dialog.confirm").get_by_role("button", name=button, exact=True).click()


def people(story: Story) -> tuple[Person, Person, Person]:
    return Person(story.page, "client"), Person(story.page, "freelancer"), Person(story.page, "mediator")


def ask_for_a_refund(client: Person, contract: str, item: str, amount: str, story: Story) -> str:
    """The client's shortcut and form; returns the case id their DM names."""
    client.root.get_by_role("button", name="⚡ Request a refund").click()
    client.choose("Contract", contract)
    client.choose("Item", item)
    client.fill({"Amount (USD)": amount, "Reason": "The concepts ignore the brief we signed."})
    story.shot("the-refund-form")
    client.submit("Send request")
    dm = client.dm("Your refund request")
    expect(dm).to_contain_text("has until")
    return re.search(r"R-[0-9A-Z]{6}", dm.inner_text()).group(0)


def test_a_fixed_price_refund_from_request_to_arbitration_award_and_payout(story):
    client, freelancer, mediator = people(story)
    story.shot("three-people")
    case_id = ask_for_a_refund(client, "Logo redesign", "Concepts", "100.00", story)
    expect(freelancer.dm(case_id)).to_contain_text("Please answer by")
    story.shot("the-freelancer-is-asked")

    freelancer.press(case_id, "Decline")
    freelancer.fill({"Why are you declining?": "Delivered exactly as briefed."})
    freelancer.submit("Decline")
    expect(client.dm(case_id)).to_contain_text("Declined")
    story.shot("declined")

    client.press(case_id, "Request again")
    expect(client.modal).to_contain_text("escrow refund process")
    client.submit("Start escrow refund")
    expect(freelancer.dm(case_id)).to_contain_text("started the escrow refund process")
    story.shot("escrow-refund")

    freelancer.press(case_id, "Dispute")
    freelancer.fill({"Your statement": "The brief asked for two concepts; both were delivered."})
    freelancer.submit("Send")
    expect(client.dm(case_id)).to_contain_text("disputed the escrow refund")
    client.press(case_id, "Reject: ask a mediator")
    dialog = client.page.locator("dialog.confirm")
    expect(dialog).to_contain_text("A mediator takes the case and decides how much of the $100.00 is refunded.")
    story.shot("rejecting-asks-first")
    client.confirm("Ask a mediator")
    card = mediator.card(case_id)
    expect(card).to_contain_text("waiting for a mediator")
    story.shot("the-case-card")
    mediator.root.get_by_role("tab", name="Home").click()
    desk = mediator.root.locator('[role=tabpanel][data-tab="home"]')
    expect(desk).to_contain_text("Mediation desk")
    expect(desk).to_contain_text(f"{case_id} · Milestone “Concepts”")
    story.shot("the-mediators-desk")

    # The lead hands it to Chen from the desk, under the case's line; Chen is told in a DM.
    story.page.get_by_label("Acting as").select_option(label="Lee Lead")
    mediator.root.get_by_role("tab", name="Home").click()
    desk.get_by_role("button", name="Hand to a mediator…").first.click()
    expect(mediator.modal).to_contain_text("is not held by any mediator yet")
    mediator.choose("Hand the case to", "Chen Mediator")
    story.shot("the-lead-hands-the-case-out")
    mediator.submit("Hand it over")
    expect(desk).to_contain_text("held by")
    story.page.get_by_label("Acting as").select_option(label="Chen Mediator")
    mediator.root.get_by_role("tab", name="Messages").click()
    expect(mediator.dm(case_id)).to_contain_text("was handed to you by")
    expect(mediator.card(case_id).get_by_role("button", name="Propose")).to_be_visible()
    mediator.press_card(case_id, "Propose")
    mediator.fill({"Refund to the client (USD)": "40.00", "Rationale": "Two of the five concepts follow the brief."})
    mediator.choose("Policy rule applied", "Part of the work was delivered")
    story.shot("a-proposal")
    mediator.submit("Submit")
    expect(client.dm(case_id)).to_contain_text("proposes a refund of")
    expect(client.dm(case_id)).to_contain_text("Rule applied:")
    story.shot("the-proposal-as-the-client-sees-it")

    client.press(case_id, "Reject proposal")
    expect(client.page.locator("dialog.confirm")).to_contain_text("is not refunded. Arbitration is offered instead")
    client.confirm("Reject")
    expect(client.dm(case_id)).to_contain_text("Binding arbitration is offered")
    client.press(case_id, "Agree and pay the fee")
    client.confirm("Agree and pay")
    freelancer.press(case_id, "Agree and pay the fee")
    freelancer.confirm("Agree and pay")
    expect(mediator.card(case_id).get_by_role("button", name="Record award")).to_be_visible()
    story.shot("arbitration")

    mediator.press_card(case_id, "Record award")
    mediator.fill(
        {
            "Refund to the client (USD)": "70.00",
            "Rationale": "The tribunal found three concepts off-brief.",
            "Award reference": "AAA-2026-118",
        }
    )
    mediator.choose("Policy rule applied", "What was delivered does not match")
    mediator.submit("Submit")
    for person, refunded in ((client, "$70.00 refunded"), (freelancer, "70,00\xa0$ refunded")):  # his Slack is de-DE
        expect(person.dm(case_id)).to_contain_text("Awarded")
        expect(person.dm(case_id)).to_contain_text(refunded)
    story.page.get_by_text("Ledger (").click()
    ledger = story.page.locator(".ledger tbody")
    expect(ledger).to_contain_text("refund")
    expect(ledger).to_contain_text("70.00 USD")
    expect(ledger).to_contain_text("30.00 USD")
    story.shot("awarded-and-paid-out")


def test_an_hourly_dispute_decided_then_appealed_to_a_second_mediator(story):
    client, freelancer, mediator = people(story)
    case_id = ask_for_a_refund(client, "Backend work", "Week of 16 Nov", "100.00", story)
    freelancer.press(case_id, "Decline")
    freelancer.fill({"Why are you declining?": "The standups happened."})
    freelancer.submit("Decline")
    client.press(case_id, "Request again")
    dispute = {"Disputed hours": "2", "and minutes": "30", "Reasons": "No standup that week."}
    client.fill(dispute | {"Or an amount (USD)": "50.00"})
    client.modal.get_by_label("I certify", exact=False).check()
    client.modal.get_by_role("button", name="Open the dispute").click()
    error = "Give the disputed time or an amount, not both."  # the app's answer, under its field; nothing is lost
    expect(client.modal.locator(".bk-input.invalid")).to_contain_text(error)
    expect(client.field("Reasons")).to_have_value("No standup that week.")
    story.shot("the-dispute-form-says-what-is-wrong")
    client.field("Or an amount (USD)").fill("")
    client.submit("Open the dispute")
    freelancer.press(case_id, "Contest")
    freelancer.fill({"Your statement": "Standups happened daily; see the calendar."})
    freelancer.submit("Send")
    mediator.press_card(case_id, "Claim")
    mediator.press_card(case_id, "Decide")
    mediator.fill({"Refund to the client (USD)": "40.00", "Rationale": "One standup is undocumented."})
    mediator.choose("Policy rule applied", "The hours billed are not shown")
    mediator.submit("Submit")
    expect(freelancer.dm(case_id)).to_contain_text("Open to appeal until")
    story.shot("decided-open-to-appeal")

    freelancer.press(case_id, "Ask for a review")
    freelancer.modal.get_by_role("button", name="Ask for the review").click()  # no reason: refused, like Slack
    expect(freelancer.modal).to_contain_text("Please fill out this field.")
    freelancer.fill({"Why should it be reviewed?": "The calendar export shows every standup."})
    freelancer.submit("Ask for the review")
    expect(mediator.card(case_id)).to_contain_text("made the outcome appealed")
    # The desk: Chen made the outcome, so his desk names it his and offers him no Claim; Dana's offers it.
    mediator.root.get_by_role("tab", name="Home").click()
    row = mediator.root.locator('[role=tabpanel][data-tab="home"] .bk-section').filter(has_text=case_id).first
    expect(row).to_contain_text("your outcome: another mediator reviews it")
    expect(row.get_by_role("button", name="Claim")).to_have_count(0)
    story.shot("the-first-mediators-desk-offers-no-claim")
    mediator.root.get_by_role("tab", name="Messages").click()
    story.page.get_by_label("Acting as").select_option(label="Dana Mediator")
    mediator.root.get_by_role("tab", name="Home").click()
    row = mediator.root.locator('[role=tabpanel][data-tab="home"] .bk-section').filter(has_text=case_id).first
    expect(row.get_by_role("button", name="Claim")).to_be_visible()
    expect(row).to_contain_text("waiting since")
    story.shot("the-second-mediators-desk-offers-the-claim")
    mediator.root.get_by_role("tab", name="Messages").click()
    mediator.press_card(case_id, "Claim")
    mediator.press_card(case_id, "Review")
    expect(mediator.field("Refund to the client (USD)")).to_have_value("40.00")
    mediator.fill({"Refund to the client (USD)": "25.00", "Rationale": "The export shows four of five standups."})
    mediator.choose("Policy rule applied", "The hours billed are not shown")
    mediator.submit("Submit")
    expect(client.dm(case_id)).to_contain_text("Reviewed on appeal")
    expect(client.dm(case_id)).to_contain_text("changed from $40.00")
    story.shot("reviewed-on-appeal")


def test_the_clock_brings_a_reminder_and_then_the_lapse(story):
    client, freelancer, _ = people(story)
    case_id = ask_for_a_refund(client, "Logo redesign", "Concepts", "50.00", story)
    client.command("list")
    expect(client.root.locator(".private-note")).to_contain_text("Your open cases")
    expect(client.root.locator(".private-note")).to_contain_text(case_id)
    expect(story.page.locator("#next")).to_contain_text(case_id)
    story.page.get_by_role("button", name="Next deadline ▸").click()
    reminder = freelancer.dm("Reminder:")
    expect(reminder).to_contain_text(case_id)
    expect(reminder.get_by_role("button", name="Approve")).to_be_visible()
    story.shot("a-reminder")
    for _ in range(3):  # the 24 h and 2 h reminders, then the deadline itself
        story.page.get_by_role("button", name="Next deadline ▸").click()
        story.page.wait_for_function("!document.body.classList.contains('acting')")
    # The lapse is relayed after the page's last move returned: on a loaded machine that can take a few seconds.
    expect(client.titled(f"Your refund request {case_id}")).to_contain_text("Lapsed", timeout=15_000)
    expect(freelancer.titled(f"Refund request {case_id}")).to_contain_text("Lapsed", timeout=15_000)
    expect(story.page.locator("#next")).to_contain_text("No deadline is waiting")
    story.shot("lapsed")


def test_a_person_can_do_it_by_keyboard(story):
    client, _, _ = people(story)
    shortcut = client.root.get_by_role("button", name="⚡ Request a refund")
    shortcut.focus()
    story.page.keyboard.press("Enter")
    expect(client.modal).to_be_visible()
    expect(client.field("Contract")).to_be_focused()  # the form opens with its first field ready
    story.page.keyboard.press("Escape")
    expect(client.modal).to_have_count(0)
    client.root.get_by_role("tab", name="Messages").focus()
    story.page.keyboard.press("ArrowRight")  # tabs move with the arrow keys, and Home opens as in Slack
    expect(client.root.get_by_role("tab", name="Home")).to_have_attribute("aria-selected", "true")
    expect(client.root.locator('[role=tabpanel][data-tab="home"]')).to_contain_text("Refunds")


def test_files_attached_from_the_computer_reach_only_whom_they_are_for(story):
    client, freelancer, mediator = people(story)
    case_id = ask_for_a_refund(client, "Logo redesign", "Concepts", "100.00", story)
    freelancer.press(case_id, "Decline")
    freelancer.fill({"Why are you declining?": "Delivered exactly as briefed."})
    freelancer.submit("Decline")
    client.press(case_id, "Request again")
    client.submit("Start escrow refund")
    freelancer.press(case_id, "Dispute")
    freelancer.fill({"Your statement": "Both concepts follow the brief."})
    freelancer.submit("Send")

    # The freelancer attaches the delivered concepts from their computer, for both sides.
    freelancer.press(case_id, "Add evidence")
    freelancer.fill({"Description": "The two concepts as delivered."})
    freelancer.field("Files").set_input_files(
        [
            {"name": "concept-a.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n concept A"},
            {"name": "concept-b.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n concept B"},
        ]
    )
    story.shot("attaching-files")
    freelancer.modal.get_by_role("button", name="Add", exact=True).click()
    expect(freelancer.modal).to_contain_text("Added to case", timeout=15_000)  # read off the request path
    expect(freelancer.modal).to_contain_text("SHA-256")
    story.shot("files-checked-and-added")
    freelancer.modal.get_by_role("button", name="Done", exact=True).click()
    thread = client.posted(case_id)
    expect(thread.locator(".file", has_text="concept-a.png")).to_be_visible()
    expect(thread.locator(".file", has_text="concept-b.png")).to_be_visible()
    story.shot("the-copies-in-the-case-thread")

    # The client's file for the mediator only: never in the freelancer's column, in the card's thread once there is
    # a card.
    client.press(case_id, "Add evidence")
    client.field("Files").set_input_files(
        {"name": "bank-statement.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7"}
    )
    client.modal.get_by_text("The mediator only").click()
    client.modal.get_by_role("button", name="Add", exact=True).click()
    expect(client.modal).to_contain_text("The mediator only can see it", timeout=15_000)
    client.modal.get_by_role("button", name="Done", exact=True).click()
    expect(client.dm("for the mediator only")).to_be_visible()
    client.dm("disputed the escrow refund").get_by_role("button", name="Reject: ask a mediator").click()
    client.confirm("Ask a mediator")
    expect(mediator.card(case_id).locator(".file", has_text="bank-statement.pdf")).to_be_visible()
    story.shot("the-mediator-only-file-under-the-card")
    expect(freelancer.root).not_to_contain_text("bank-statement")
