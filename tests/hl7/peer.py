"""A real HL7 peer for tests/hl7_peers.rs: messages built with hl7apy (PyPI), written to a
file that `mllp_send` (python-hl7, PyPI) sends to bedside's MLLP listener.

    peer.py OUT_FILE

writes an ADT^A01 (built field by field) and an ORU^R01 (read and re-serialised by hl7apy,
which checks its structure), segments ending in CR, messages one after another.
"""
import sys

from hl7apy.core import Message
from hl7apy.parser import parse_message

adt = Message("ADT_A01", version="2.5")
adt.msh.msh_3 = "PEER"
adt.msh.msh_4 = "GENHOSP"
adt.msh.msh_5 = "BEDSIDE"
adt.msh.msh_6 = "WARD"
adt.msh.msh_7 = "20261202083000"
adt.msh.msh_9 = "ADT^A01^ADT_A01"
adt.msh.msh_10 = "PEER-ADT-1"
adt.msh.msh_11 = "P"
adt.evn.evn_2 = "20261202083000"
adt.pid.pid_3 = "5550001^^^GENHOSP^MR"
adt.pid.pid_5 = "PEERSON^PAT"
adt.pid.pid_7 = "19800101"
adt.pid.pid_8 = "F"
adt.pv1.pv1_2 = "I"
adt.pv1.pv1_3 = "WARD7^1^A"
adt.pv1.pv1_19 = "VP1^^^GENHOSP^VN"
adt.pv1.pv1_44 = "20261202080000"

oru_text = "\r".join([
    "MSH|^~\\&|PEERLAB|GENHOSP|BEDSIDE|WARD|20261202090000||ORU^R01^ORU_R01|PEER-ORU-1|P|2.5",
    "PID|1||5550001^^^GENHOSP^MR||PEERSON^PAT||19800101|F",
    "OBR|1|PO-1|PF-1|2823-3^Potassium^LN|||20261202061500",
    "OBX|1|NM|2823-3^Potassium^LN||4.2|mmol/L|3.5-5.1|N|||F",
])
oru = parse_message(oru_text, find_groups=True)

with open(sys.argv[1], "w", newline="") as out:
    for m in (adt, oru):
        out.write(m.to_er7() + "\r\n")
