"""Try refund-bot without a Slack workspace: the real app, a local Slack stand-in, and a page in the browser."""
