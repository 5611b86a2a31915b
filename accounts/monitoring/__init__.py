"""The audit trail, detection rules and alerts, and the operators' console."""
