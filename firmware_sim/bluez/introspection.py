"""Introspection XML for the virtual BlueZ's objects.

bleak does not introspect, but D-Bus tools (busctl, gdbus) and proxy-based clients (dbus-next, as
used by bless) need the XML of the D-Bus Introspection format (D-Bus Specification,
"Introspection Data Format").
"""

from __future__ import annotations

from collections.abc import Mapping

from dbus_fast import Variant
from dbus_fast.signature import SignatureTree

from . import names as n

__all__ = ["METHODS", "introspect"]

#: Methods per interface: (name, input signature, output signature).
METHODS: dict[str, list[tuple[str, str, str]]] = {
    n.OBJECT_MANAGER: [("GetManagedObjects", "", "a{oa{sa{sv}}}")],
    n.ADAPTER: [
        ("StartDiscovery", "", ""),
        ("StopDiscovery", "", ""),
        ("SetDiscoveryFilter", "a{sv}", ""),
        ("RemoveDevice", "o", ""),
    ],
    n.DEVICE: [("Connect", "", ""), ("Disconnect", "", ""), ("Pair", "", ""), ("CancelPairing", "", "")],
    n.GATT_SERVICE: [],
    n.GATT_CHARACTERISTIC: [
        ("ReadValue", "a{sv}", "ay"),
        ("WriteValue", "aya{sv}", ""),
        ("StartNotify", "", ""),
        ("StopNotify", "", ""),
        ("AcquireNotify", "a{sv}", "hq"),
    ],
    n.GATT_DESCRIPTOR: [("ReadValue", "a{sv}", "ay"), ("WriteValue", "aya{sv}", "")],
}


def introspect(path: str, objects: Mapping[str, Mapping[str, Mapping[str, Variant]]]) -> str:
    """Introspection XML of ``path`` in the object tree ``objects`` (path -> interface -> properties)."""

    def args(sig: str, direction: str) -> str:
        if not sig:
            return ""
        return "".join(
            f'<arg name="a{i}" type="{t.signature}" direction="{direction}"/>'
            for i, t in enumerate(SignatureTree(sig).types)
        )

    ifaces = dict(objects.get(path, {}))
    parts = [
        '<interface name="org.freedesktop.DBus.Introspectable"><method name="Introspect">'
        '<arg name="xml" type="s" direction="out"/></method></interface>',
        f'<interface name="{n.PROPERTIES}">'
        '<method name="Get"><arg type="s" direction="in"/><arg type="s" direction="in"/>'
        '<arg type="v" direction="out"/></method>'
        '<method name="Set"><arg type="s" direction="in"/><arg type="s" direction="in"/>'
        '<arg type="v" direction="in"/></method>'
        '<method name="GetAll"><arg type="s" direction="in"/><arg type="a{sv}" direction="out"/></method>'
        '<signal name="PropertiesChanged"><arg type="s"/><arg type="a{sv}"/><arg type="as"/></signal>'
        "</interface>",
    ]
    if path == "/":
        parts.append(
            f'<interface name="{n.OBJECT_MANAGER}"><method name="GetManagedObjects">'
            '<arg type="a{oa{sa{sv}}}" direction="out"/></method>'
            '<signal name="InterfacesAdded"><arg type="o"/><arg type="a{sa{sv}}"/></signal>'
            '<signal name="InterfacesRemoved"><arg type="o"/><arg type="as"/></signal></interface>'
        )
    for iface, props in ifaces.items():
        body = "".join(
            f'<method name="{m}">{args(i, "in")}{args(o, "out")}</method>'
            for m, i, o in METHODS.get(iface, [])
        )
        body += "".join(
            f'<property name="{k}" type="{v.signature}" access="read"/>' for k, v in props.items()
        )
        parts.append(f'<interface name="{iface}">{body}</interface>')
    prefix = path.rstrip("/") + "/"
    children = sorted({p[len(prefix) :].split("/")[0] for p in objects if p.startswith(prefix)})
    parts.extend(f'<node name="{c}"/>' for c in children)
    return "<node>" + "".join(parts) + "</node>"
