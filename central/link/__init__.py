"""MQTT ingest of edge messages and publishing of acks."""

from central.link.devices import Devices, DeviceState
from central.link.mqtt import MqttLink

__all__ = ["DeviceState", "Devices", "MqttLink"]
