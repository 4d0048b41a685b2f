"""The local stack: template.yaml's resources, state machine and Lambda code on one machine."""
