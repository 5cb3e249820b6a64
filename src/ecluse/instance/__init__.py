"""One Écluse instance: its home directory (`home`), its assembly from the settings
(`platform`: database, key manager, store, audit log), and its creation and self-check
(`setup`). Nothing here is global: each call opens its own."""
