import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmdetect import protocol as P
from lmdetect.errors import ProtocolError


def test_data_packet_round_trip():
    s = np.arange(30, dtype=np.int16).reshape(10, 3) - 15
    pkt = P.DataPacket(seq=2**32 + 5, tick=123456, range_g=8, samples=s, flags=P.Flags.RESENT)
    b = P.encode_data_packet(pkt)
    assert len(b) == P.HEADER_SIZE + 60
    d = P.decode_data_packet(b)
    assert d.seq == 5 and d.tick == 123456 and d.range_g == 8 and d.flags == P.Flags.RESENT
    assert np.array_equal(d.samples, s)
    assert np.allclose(d.samples_g(), s * 8 / 32768)


def test_packets_fit_an_att_mtu_of_247():
    s = np.zeros((P.MAX_SAMPLES_PER_PACKET, 3), np.int16)
    assert len(P.encode_data_packet(P.DataPacket(0, 0, 8, s))) <= 244


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_random_bytes_never_crash_the_decoder(data):
    try:
        P.decode_data_packet(data)
    except ProtocolError:
        pass


def test_commands_and_replies():
    b = P.encode_command(P.Opcode.RESEND, 10, 20)
    assert P.decode_command(b) == (P.Opcode.RESEND, (10, 20))
    with pytest.raises(ProtocolError):
        P.decode_command(b[:-1])
    r = P.encode_reply(P.Opcode.SET_RATE, P.Status.BAD_REQUEST)
    assert P.decode_reply(r) == (P.Opcode.SET_RATE, P.Status.BAD_REQUEST, b"")
    info = P.SensorInfo(1, True, 50, 8, 32768, 400, 10, 410, 87)
    assert P.decode_info(P.encode_info(info)) == info
