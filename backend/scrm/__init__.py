"""SCRM for sales staff (销售助手): customers, their owners, tags, timeline, reminders."""
