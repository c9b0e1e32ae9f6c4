"""Notifications: daily promoter summaries, change alerts through an outbox, the
bot's backend verbs (chat identities, link codes, keyword tag rules)."""
