import { ConfiguredDevice } from './configured-device.ts';
import { publicKeyOf } from './keys.ts';
import { parsedDeviceRead } from './device-read.ts';
import { ChangeRejectedError, type DeviceChange, type DeviceRead, type ObservedDevice, type WireGuardClient } from './types.ts';

interface FakeDevice {
  config: ConfiguredDevice;
  /** Endpoints WireGuard "learned" (roaming), overriding the configured ones. */
  roamed: Map<string, string>;
  /** Unix seconds of each peer's last handshake; 0 (never) when absent. */
  handshakes: Map<string, number>;
}

/**
 * An in-memory WireGuard for unit tests of the layers above: it keeps what
 * was configured with WireGuard's semantics, records every change, and can
 * be made to fail or to roam a peer.
 */
export class FakeWireGuardClient implements WireGuardClient {
  readonly #devices = new Map<string, FakeDevice>();
  readonly #failures: Error[] = [];
  readonly #refusedKeys = new Set<string>();
  /** Every successful `configure`, in order. */
  readonly changes: Array<{ device: string; change: DeviceChange }> = [];
  /** How many times a device was read. */
  reads = 0;

  addDevice(name: string): void {
    if (!this.#devices.has(name)) this.#devices.set(name, { config: new ConfiguredDevice(), roamed: new Map(), handshakes: new Map() });
  }

  deleteDevice(name: string): void {
    this.#devices.delete(name);
  }

  hasDevice(name: string): boolean {
    return this.#devices.has(name);
  }

  /** The next `configure` rejects with this error and changes nothing. */
  failNextConfigure(error: Error): void {
    this.#failures.push(error);
  }

  /**
   * From now on, every `configure` with a change for this key is refused as
   * a whole, as wireguard-go refuses a batch with one bad peer in it
   * (ChangeRejectedError), and changes nothing.
   */
  refusePeer(publicKey: string): void {
    this.#refusedKeys.add(publicKey);
  }

  /** Ends `refusePeer`. */
  acceptPeer(publicKey: string): void {
    this.#refusedKeys.delete(publicKey);
  }

  /** Makes a peer's observed endpoint differ, as when WireGuard follows a roaming (NATed) peer. */
  roam(device: string, publicKey: string, endpoint: string): void {
    const fake = this.#get(device);
    if (!fake.config.peers.has(publicKey)) throw new Error(`fake WireGuard: ${device} has no peer ${publicKey}`);
    fake.roamed.set(publicKey, endpoint);
  }

  /** Records a handshake with a peer, as a live session has every two minutes. */
  handshake(device: string, publicKey: string, unixSeconds: number): void {
    this.#get(device).handshakes.set(publicKey, unixSeconds);
  }

  device(name: string): Promise<ObservedDevice> {
    this.reads++;
    // Through then(): a throw becomes a rejection, as with a real client.
    return Promise.resolve().then(() => this.#observe(name));
  }

  /** Fingerprinted from the configuration it reports, as the UAPI client's bytes are. */
  async read(name: string): Promise<DeviceRead> {
    const observed = await this.device(name);
    return parsedDeviceRead(observed, configFingerprintOf(observed));
  }

  configure(name: string, change: DeviceChange): Promise<void> {
    return Promise.resolve().then(() => this.#apply(name, change));
  }

  #observe(name: string): ObservedDevice {
    const { config, roamed, handshakes } = this.#get(name);
    return {
      name,
      publicKey: config.privateKey === null ? null : publicKeyOf(config.privateKey),
      listenPort: config.listenPort,
      peers: [...config.peers.values()].map((peer) => ({
        publicKey: peer.publicKey,
        endpoint: roamed.get(peer.publicKey) ?? peer.endpoint,
        allowedIPs: [...peer.allowedIPs],
        persistentKeepaliveSeconds: peer.persistentKeepaliveSeconds,
        lastHandshakeSeconds: handshakes.get(peer.publicKey) ?? 0,
        receiveBytes: 0,
        transmitBytes: 0,
      })),
    };
  }

  #apply(name: string, change: DeviceChange): void {
    const fake = this.#get(name);
    const failure = this.#failures.shift();
    if (failure) throw failure;
    const refused = change.peers.find((peer) => this.#refusedKeys.has(peer.publicKey));
    if (refused) throw new ChangeRejectedError(`fake WireGuard: ${name} refuses peer ${refused.publicKey} (${change.peers.length} peer changes)`);
    fake.config.apply(change);
    for (const peer of change.peers) {
      if (peer.remove || peer.endpoint !== undefined) fake.roamed.delete(peer.publicKey);
      if (peer.remove) fake.handshakes.delete(peer.publicKey);
    }
    this.changes.push({ device: name, change });
  }

  #get(name: string): FakeDevice {
    const device = this.#devices.get(name);
    if (!device) throw new Error(`fake WireGuard: no device ${name}`);
    return device;
  }
}

function configFingerprintOf(observed: ObservedDevice): string {
  return JSON.stringify([
    observed.publicKey,
    observed.listenPort,
    observed.peers.map((peer) => [peer.publicKey, peer.endpoint, peer.allowedIPs, peer.persistentKeepaliveSeconds]),
  ]);
}
