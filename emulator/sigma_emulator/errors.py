"""The server's job error codes and error lines (the contract's "Job states and errors").

``CODES`` maps each documented code to what it concerns (I input, O output, P processing,
C configuration), whether it occurs only when a job is created (the job stays in ``error``
until it is started again) and the message the emulator writes. The server retries a job
failing with any other code by itself, so such an error clears when its cause goes away.

An error line reads ``[MM-DD hh:mm:ss] Message (code: CODE)``, the time in UTC.
"""

import datetime
import re

# code: (concerns, creation only, message; {url} is the input or output concerned)
CODES = {
    "TIMEOUT": ("I", False, "Timeout reading input: {url}"),
    "INPUT_TIMEOUT": ("I", False, "Connection timed out: {url}"),
    "GOP_INVALID": ("I", False, "Invalid GOP in input: {url}"),
    "ASYNC_STREAM": ("I", False, "Audio and video streams out of sync: {url}"),
    "ASYNC_PROFILE": ("I", False, "Profiles out of sync: {url}"),
    "INVALID_INPUT_DATA": ("I", False, "Invalid data found when processing input: {url}"),
    "CANT_SYNC_INPUT": ("I", False, "Cannot synchronise input: {url}"),
    "STREAM_MISSING": ("I", False, "Stream missing in input: {url}"),
    "INPUT_PACKET_TOO_SMALL": ("I", False, "Input packet too small: {url}"),
    "AAC_PACKET_TOO_SHORT": ("I", False, "AAC packet too short: {url}"),
    "PPS_ID_NOT_FOUND": ("I", False, "PPS id not found: {url}"),
    "STREAM_NOT_FOUND": ("I", True, "Stream not found: {url}"),
    "NO_AUDIO_DATA": ("I", True, "No audio data in input: {url}"),
    "NO_VIDEO_DATA": ("I", True, "No video data in input: {url}"),
    "OUTPUT_TIMEOUT": ("O", False, "Output timed out: {url}"),
    "UNABLE_TO_OPEN_RESOURCE": ("O", False, "Unable to open resource: {url}"),
    "END_OF_FILE": ("O", False, "End of file: {url}"),
    "FAILED_TO_RESOLVE_HOSTNAME": ("O", False, "Failed to resolve hostname: {url}"),
    "INITIALIZING_OUTPUT_STREAM": ("O", True, "Error initializing output stream: {url}"),
    "INPUT_OUTPUT_ERROR": ("I,O", False, "Input/output error: {url}"),
    "IO_ERROR": ("I,O", False, "I/O error: {url}"),
    "CONNECTION_REFUSED": ("I,O", False, "Connection refused: {url}"),
    "CONNECTION_TIMEOUT": ("I,O", False, "Connection timeout: {url}"),
    "CANNOT_OPEN_CONNECTION": ("I,O", False, "Cannot open connection: {url}"),
    "URL_READ_ERROR": ("I,O", False, "URL read error: {url}"),
    "CONNECTION_RESET_BY_PEER": ("I,O", False, "Connection reset by peer: {url}"),
    "BROKEN_PIPE": ("I,O", False, "Broken pipe: {url}"),
    "NO_SUCH_FILE_OR_DIRECTORY": ("I,O", False, "No such file or directory: {url}"),
    "OPEN_ERROR": ("I,O", False, "Open error: {url}"),
    "CLOSE_ERROR": ("I,O", False, "Close error: {url}"),
    "NO_ROUTE_TO_HOST": ("I,O", True, "No route to host: {url}"),
    "PACKET_QUEUE_IS_FULL": ("I,O,P", False, "Packet queue is full"),
    "MEMORY_IS_FULL": ("P", False, "Memory is full"),
    "TRANSCODE_TIMEOUT": ("P", False, "Transcode timed out"),
    "SYNC_SEQUENCE": ("P", False, "Sync sequence error"),
    "FEATURE_NOT_ENABLED": ("C", False, "Feature not enabled"),
    "CANT_START_OVERLAY": ("C", False, "Cannot start overlay"),
    "OPTION_NOTFOUND": ("C", True, "Option not found"),
    "PROTOCOL_NOTFOUND": ("C", True, "Protocol not found"),
    "INVALID_ARGUMENT": ("C", True, "Invalid argument"),
}
CREATION_ONLY = frozenset(code for code, (_c, once, _m) in CODES.items() if once)
_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")


def check_code(code):
    """Return ``code`` if it is written like a code (a documented one or not), else raise ValueError.

    An undocumented code is accepted (a real server's list is not closed): it is transient and
    its message is "Unknown error".
    """
    if not isinstance(code, str) or not _CODE.match(code):
        raise ValueError(f"an error code is upper-case letters, digits and _, not {code!r}")
    return code


def creation_only(code):
    return code in CREATION_ONLY


def message(code, url=None):
    """The emulator's message for ``code``, naming ``url`` when the code concerns one."""
    text = CODES.get(code, ("", False, "Unknown error"))[2]
    if "{url}" in text:
        return text.format(url=url) if url else text.replace(": {url}", "")
    return text


def line(when, text, code):
    """An error line: ``[MM-DD hh:mm:ss] text (code: CODE)``, ``when`` (epoch seconds) in UTC."""
    stamp = datetime.datetime.fromtimestamp(when, datetime.UTC).strftime("%m-%d %H:%M:%S")
    return f"[{stamp}] {text} (code: {code})"
