import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Mesh } from '@meshtastic/protobufs';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/test/manualClock';
import { frameSerial, SerialDeframer } from '../serialFraming';
import { SimulatedDevice } from './simulatedDevice';
import { SimulatedMedium } from './simulatedMedium';

function wantConfig(id: number): Uint8Array {
  return frameSerial(toBinary(Mesh.ToRadioSchema, create(Mesh.ToRadioSchema, { payloadVariant: { case: 'wantConfigId', value: id } })));
}

describe('serial framing', () => {
  it('is 0x94 0xC3, a big-endian length, then the protobuf', () => {
    expect([...frameSerial(new Uint8Array([8, 1]))]).toEqual([0x94, 0xc3, 0x00, 0x02, 8, 1]);
    expect([...frameSerial(new Uint8Array(300)).subarray(0, 4)]).toEqual([0x94, 0xc3, 0x01, 0x2c]);
    expect(() => frameSerial(new Uint8Array(513))).toThrow(/512/);
  });

  it('de-frames across chunks, skipping noise and over-long headers', () => {
    const deframer = new SerialDeframer();
    const stream = new Uint8Array([0x41, 0x94, 0x94, 0xc3, 0x00, 0x02, 8, 1, 0x94, 0xc3, 0x7f, 0xff, 0x94, 0xc3, 0x00, 0x01, 9]);
    const frames = [...stream].flatMap((byte) => deframer.push(new Uint8Array([byte])));
    expect(frames.map((f) => [...f])).toEqual([[8, 1], [9]]);
    expect(deframer.skipped).toBe(2 + 4);
  });
});

describe('SimulatedDevice at its serial boundary', () => {
  it('answers wantConfigId a few ms later (never at once) with myInfo … configCompleteId, skipping garbage before it', () => {
    const clock = new ManualClock();
    const device = new SimulatedDevice({ medium: new SimulatedMedium({ clock }), clock, nodeNum: 0xabc });
    const out: Uint8Array[] = [];
    const session = device.connect((bytes) => out.push(bytes), () => {});
    session.write(new Uint8Array([0xff, 0x94, 0x00, 0xc3, 1, 2, 3]));
    session.write(frameSerial(new Uint8Array([0xff, 0xff, 0xff]))); // frames, but not a ToRadio
    session.write(wantConfig(77));
    expect(out).toHaveLength(0);
    clock.advance(10);
    const deframer = new SerialDeframer();
    const messages = out.flatMap((bytes) => deframer.push(bytes)).map((f) => fromBinary(Mesh.FromRadioSchema, f));
    const cases = messages.map((m) => m.payloadVariant.case);
    expect(cases.slice(0, 2)).toEqual(['myInfo', 'nodeInfo']);
    expect(cases).toContain('metadata');
    expect(cases).toContain('config');
    expect(cases).toContain('channel');
    const complete = messages.find((m) => m.payloadVariant.case === 'configCompleteId');
    expect(complete?.payloadVariant.value).toBe(77);
    expect(device.rejected.bytes).toBeGreaterThan(0);
    expect(device.rejected.frames).toBe(1);
  });

  it('unplugging ends the session; a write after it fails as a closed port would', () => {
    const clock = new ManualClock();
    const device = new SimulatedDevice({ medium: new SimulatedMedium({ clock }), clock, nodeNum: 5 });
    let ended = 0;
    const session = device.connect(() => {}, () => ended++);
    device.unplug();
    device.unplug();
    expect(ended).toBe(1);
    expect(() => session.write(wantConfig(1))).toThrow(/unplugged/);
  });
});
