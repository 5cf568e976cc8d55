"""Q.850 hangup causes, SIP status mapping and dial statuses (PBX-PROTOCOL.md §3, §6)."""

from __future__ import annotations

NORMAL = 16
BUSY = 17
NO_USER_RESPONSE = 18
NO_ANSWER = 19
ANSWERED_ELSEWHERE = 26
REJECTED = 21
UNALLOCATED = 1
CONGESTION = 34
# The internal soft-hangup flag ChannelHangupRequest carries after DELETE /channels.
SOFT_HANGUP_EXPLICIT = 32

# include/asterisk/causes.h / main/channel.c causes[] texts.
CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    2: "No route to specified transmit network",
    3: "No route to destination",
    6: "Channel unacceptable",
    7: "Call awarded and being delivered in an established channel",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    21: "Call Rejected",
    22: "Number changed",
    26: "Answered elsewhere",
    27: "Destination out of order",
    28: "Invalid number format",
    29: "Facility rejected",
    30: "Response to STATus ENQuiry",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    41: "Temporary failure",
    42: "Switching equipment congestion",
    43: "Access information discarded",
    44: "Requested channel not available",
    50: "Requested facility not subscribed",
    52: "Outgoing call barred",
    54: "Incoming call barred",
    57: "Bearer capability not authorized",
    58: "Bearer capability not available",
    65: "Bearer capability not implemented",
    66: "Channel not implemented",
    69: "Facility not implemented",
    81: "Invalid call reference value",
    88: "Incompatible destination",
    95: "Invalid message unspecified",
    96: "Mandatory information element is missing",
    97: "Message type nonexist.",
    98: "Wrong message",
    99: "Info. element nonexist or not implemented",
    100: "Invalid information element contents",
    101: "Message not compatible with call state",
    102: "Recover on timer expiry",
    111: "Protocol error, unspecified",
    127: "Interworking, unspecified",
}

# resource_channels.c convert_reason_to_hangup_code().
HANGUP_REASONS = {
    "normal": 16,
    "busy": 17,
    "congestion": 34,
    "no_answer": 19,
    "timeout": 18,
    "rejected": 21,
    "unallocated": 1,
    "normal_unspecified": 31,
    "number_incomplete": 28,
    "codec_mismatch": 58,
    "interworking": 127,
    "failure": 38,
    "answered_elsewhere": 26,
}

# res_pjsip.c ast_sip_hangup_sip2cause() for the statuses the world produces.
SIP_TO_CAUSE = {
    401: 21, 403: 21, 404: 1, 405: 127, 407: 21, 408: 18, 410: 22, 413: 127, 414: 28,
    415: 127, 420: 127, 480: 19, 481: 127, 482: 127, 483: 127, 484: 28, 485: 1,
    486: 17, 487: 127, 488: 127, 500: 41, 501: 79, 502: 27, 503: 34, 504: 102,
    505: 127, 600: 17, 603: 21, 604: 1, 606: 58,
}

# AMI ChannelState numbers (include/asterisk/channelstate.h) by ARI state name.
STATE_NUM = {
    "Down": 0, "Rsrvd": 1, "OffHook": 2, "Dialing": 3, "Ring": 4, "Ringing": 5, "Up": 6,
    "Busy": 7, "Dialing Offhook": 8, "Pre-ring": 9, "Unknown": 10,
}


def cause_text(cause: int) -> str:
    return CAUSE_TEXT.get(cause, "Unknown")


def sip_to_cause(status: int) -> int:
    if status in SIP_TO_CAUSE:
        return SIP_TO_CAUSE[status]
    if 400 <= status < 500:
        return 21
    if 500 <= status < 600:
        return 38
    return 16


def dialstatus_for_cause(cause: int) -> str:
    """main/dial.c: what a Dial reports when the far end hangs up before answering."""
    if cause == BUSY:
        return "BUSY"
    if cause == CONGESTION:
        return "CONGESTION"
    if cause in (3, 20):
        return "CHANUNAVAIL"
    return "NOANSWER"
