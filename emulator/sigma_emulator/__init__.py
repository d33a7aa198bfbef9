"""sigma_emulator: an emulator of Sigma Media Server's HTTP API for testing sigma.media_server.

``fleet`` holds identities and the GPU model table, ``server`` one server's jobs and API
functions, ``faults`` the fault rules, ``app`` the HTTP side and control path, ``cli`` the
command line.
"""

__version__ = "1.0.0"
