import type { DeviceRead, ObservedDevice } from './types.ts';

/** A read already parsed: what a client that cannot fingerprint cheaply returns. */
export function parsedDeviceRead(observed: ObservedDevice, configFingerprint: string | null): DeviceRead {
  return { publicKey: observed.publicKey, listenPort: observed.listenPort, configFingerprint, device: () => observed };
}
