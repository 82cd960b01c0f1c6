"""The MQTT link (aiomqtt): birth and will, acks in, heartbeats and alarms out (the outbox's
sender, ``edge.outbox``, decides which alarms and when)."""

from edge.link.mqtt import LinkEvents, LinkSettings, MqttLink

__all__ = ["LinkEvents", "LinkSettings", "MqttLink"]
