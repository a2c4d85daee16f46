"""Pure rules of refund-bot: no Slack, SQL or scheduler imports; the clock and the policy are passed in."""
