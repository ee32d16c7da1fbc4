#!/usr/bin/env python3
"""Writes chit's alert sounds: short sine chimes, 16-bit mono 22.05 kHz WAV.

new-order.wav  rising two-tone chime (a new ticket)
cancelled.wav  falling two-tone (an order was cancelled)
chat.wav       one short soft blip (a chat message)
"""
import math, struct, wave, os

RATE = 22050

def tone(freq, secs, volume=0.5):
    n = int(RATE * secs)
    fade = int(RATE * 0.01)
    out = []
    for i in range(n):
        env = min(1.0, i / fade, (n - i) / fade)
        s = math.sin(2 * math.pi * freq * i / RATE) * 0.7 + math.sin(4 * math.pi * freq * i / RATE) * 0.3
        out.append(int(32767 * volume * env * s))
    return out

def write(name, samples):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(struct.pack("<%dh" % len(samples), *samples))

silence = [0] * int(RATE * 0.03)
write("new-order.wav", tone(880, 0.16) + silence + tone(1320, 0.24))
write("cancelled.wav", tone(660, 0.18) + silence + tone(440, 0.3))
write("chat.wav", tone(1200, 0.07, volume=0.3))
