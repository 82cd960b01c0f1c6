"""Our services under systemd (``Type=notify``, ``WatchdogSec=``), shared by the edge agent
and central: the notify protocol (``notify``), the watchdog's pure decision (``watchdog``) and
the shell that makes a service's parts beat and feeds the watchdog from them (``feeding``);
and ``EnvironmentFile=`` read by systemd's rules (``envfile``), for tools run beside a service.

A leaf beside ``protocol`` and ``configfile``: it imports nothing of ours, so the edge and
central may both use it and still meet only on the wire (import-linter's contracts in
``pyproject.toml``). Each service names its own parts and how each proves it is alive.
"""
