"""The MQTT link (aiomqtt): birth and will, acks in, heartbeats and alarms (outbox drain) out."""

from edge.link.drain import AlarmSender
from edge.link.mqtt import LinkEvents, LinkSettings, MqttLink

__all__ = ["AlarmSender", "LinkEvents", "LinkSettings", "MqttLink"]
