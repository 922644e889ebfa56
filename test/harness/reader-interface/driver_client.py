"""
The same driver client as driver-client.c, through Python ctypes: loads libSSCardDriver.so with
ctypes.CDLL (argtypes from the reference's C signatures) and runs the calls a test feeds it on
stdin, one per line:  <function> <argument>…  (integers in decimal, strings as hex of their
bytes, '-' = ""), answering  <return code> <hex of output 1> [<hex of output 2>]  per line.
Usage: python3 driver_client.py <path of libSSCardDriver.so>
"""
import ctypes
import sys

lib = ctypes.CDLL(sys.argv[1])
I, S = ctypes.c_int, ctypes.c_char_p
SIGNATURES = {
    "iReadCardBas": [I, S],
    "iReadCardBas_HSM_Step1": [I, S],
    "iReadCardBas_HSM_Step2": [S, S],
    "iReadCard": [I, I, S, S, S],
    "iReadCard_HSM_Step1": [I, S, S, S],
    "iReadCard_HSM_Step2": [S, S],
    "iVerifyPIN": [I, S],
    "iChangePIN": [I, S],
    "iReloadPIN": [I, S, S],
    "iReloadPIN_HSM_Step1": [I, S, S],
    "iReloadPIN_HSM_Step2": [S, S],
    "iReloadPIN_HSM_Step3": [S, S],
    "iUnblockPIN": [I, S, S],
    "iUnblockPIN_HSM_Step1": [I, S, S],
    "iUnblockPIN_HSM_Step2": [S, S],
    "iUnblockPIN_HSM_Step3": [S, S],
    "iDoDebit": [I, S, S, S],
    "iDoDebit_HSM_Step1": [I, S, S, S],
    "iDoDebit_HSM_Step2": [S, S],
    "iReadDebitRecord": [I, S],
    "iWriteCard": [I, S, S, S, S],
    "iGetCardType": [S, S],
    "iGetReaderInfo": [S, S],
}
for name, argtypes in SIGNATURES.items():
    fn = getattr(lib, name)
    fn.argtypes = argtypes
    fn.restype = ctypes.c_long


def hexout(buf):
    return buf.value.hex().upper() or "-"


for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    name, given = words[0], words[1:]
    argtypes = SIGNATURES[name]
    args, outs = [], []
    inputs = argtypes[:-2] if name in ("iGetCardType", "iGetReaderInfo") else argtypes[:-1]
    for i, t in enumerate(inputs):
        w = given[i] if i < len(given) else "-"
        args.append(int(w) if t is I else (b"" if w == "-" else bytes.fromhex(w)))
    for _ in range(len(argtypes) - len(inputs)):
        buf = ctypes.create_string_buffer(4096)
        outs.append(buf)
        args.append(buf)
    rc = getattr(lib, name)(*args)
    print(rc, *[hexout(b) for b in outs], flush=True)
