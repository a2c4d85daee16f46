"""The sandbox's Block Kit renderer (``bot/sandbox/static/blockkit.js``) in the browser: what it draws of each block,
element and mrkdwn form refund-bot uses, dates in the viewer's own time zone, and a visible placeholder for what it
does not draw."""

import json

from playwright.sync_api import expect

from tests.browser.conftest import Story

BLOCKS = [
    {"type": "header", "text": {"type": "plain_text", "text": "Refund request R-7K3Q9A"}},
    {
        "type": "section",
        "block_id": "facts",
        "text": {
            "type": "mrkdwn",
            "text": "*Bold* _italic_ ~gone~ `code` :scales: <@U0CLIENT01> asked on "
            "<!date^1795600800^{date_short_pretty} at {time}|Wed 25 Nov 2026 10:00 UTC>.\n"
            "> a quoted &lt;!channel&gt; line\n<https://example.com/brief.pdf|the brief>",
        },
        "fields": [{"type": "mrkdwn", "text": "*Paid*\n$250.00"}, {"type": "mrkdwn", "text": "*Item*\nConcepts"}],
        "accessory": {"type": "datepicker", "action_id": "when"},
    },
    {"type": "divider"},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "Case thread: posting…"}]},
    {
        "type": "actions",
        "block_id": "answer",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "text": {"type": "plain_text", "text": "Approve"},
                "style": "primary",
                "value": "R-7K3Q9A",
                "confirm": {
                    "title": {"type": "plain_text", "text": "Approve the refund?"},
                    "text": {"type": "mrkdwn", "text": "*$100.00* will be refunded."},
                    "confirm": {"type": "plain_text", "text": "Approve"},
                    "deny": {"type": "plain_text", "text": "Back"},
                },
            },
            {
                "type": "button",
                "action_id": "decline",
                "text": {"type": "plain_text", "text": "Decline"},
                "style": "danger",
            },
        ],
    },
    {"type": "image", "image_url": "https://example.com/a.png", "alt_text": "a chart"},
    {"type": "rich_text", "elements": []},
]

RENDER = """async ([blocks]) => {
  const bk = await import("/sandbox/static/blockkit.js");
  window.acted = [];
  const ctx = {
    viewer: { id: "U0FREELA01", tz: "Asia/Kolkata" },
    names: { U0CLIENT01: "Ada Client" },
    now: () => new Date("2026-11-25T10:00:00Z"),
    confirm: async (asked) => { window.asked = asked.title; return true; },
    act: (block, element, chosen) => window.acted.push([block.block_id, element.action_id]),
  };
  const root = document.createElement("div");
  root.id = "rendered";
  root.append(bk.renderBlocks(blocks, ctx));
  // The page's own parts stay (hidden): its script keeps redrawing them, and must find them there.
  for (const part of document.body.children) part.hidden = true;
  document.body.append(root);
}"""


def test_blocks_and_mrkdwn_draw_as_slack_shows_them_in_the_viewers_time(story: Story):
    page = story.page
    page.evaluate(RENDER, [json.loads(json.dumps(BLOCKS))])
    shown = page.locator("#rendered")
    expect(shown.get_by_role("heading", name="Refund request R-7K3Q9A")).to_be_visible()
    expect(shown.locator("strong", has_text="Bold")).to_be_visible()
    expect(shown.locator("em", has_text="italic")).to_be_visible()
    expect(shown.locator("s", has_text="gone")).to_be_visible()
    expect(shown.locator("code", has_text="code")).to_be_visible()
    expect(shown).to_contain_text("⚖️ @Ada Client asked on")
    # 10:00 UTC is 3:30 PM in Kolkata, the viewer's zone; the fallback stays as the tooltip.
    date = shown.locator("time.bk-date")
    expect(date).to_have_text("today at 3:30 PM")
    expect(date).to_have_attribute("title", "Wed 25 Nov 2026 10:00 UTC")
    expect(shown.locator("blockquote")).to_have_text("a quoted <!channel> line")  # escaped text stays text
    expect(shown.get_by_role("link", name="the brief")).to_have_attribute("href", "https://example.com/brief.pdf")
    expect(shown.locator(".bk-field")).to_have_count(2)
    expect(shown.locator("hr")).to_have_count(1)
    expect(shown.locator(".bk-context")).to_have_text("Case thread: posting…")
    # What the renderer does not draw is said, not dropped.
    placeholders = shown.locator(".bk-unsupported")
    expect(placeholders).to_have_count(3)
    expect(placeholders.nth(0)).to_contain_text("datepicker element")
    expect(placeholders.nth(1)).to_contain_text("image block")
    expect(placeholders.nth(2)).to_contain_text("rich_text block")
    # A button with a confirm dialog asks first, then acts; styles show.
    approve = shown.get_by_role("button", name="Approve")
    expect(approve).to_have_class("bk-button primary")
    expect(shown.get_by_role("button", name="Decline")).to_have_class("bk-button danger")
    approve.click()
    page.wait_for_function("window.acted.length === 1")
    assert page.evaluate("[window.asked, window.acted]") == ["Approve the refund?", [["answer", "approve"]]]
    story.shot("the-renderer")
