import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeRoutes } from '../../src/ip/fake-routes.ts';
import { parseIpRoutes, planRoutes, routeBatch, type Route, type RoutePlan } from '../../src/ip/route-plan.ts';
import { IpRoutes, syncRoutes } from '../../src/ip/routes.ts';
import { createLabHost } from '../../lab/netns.ts';
import { skipUnlessRoot } from '../support/root.ts';
import { failure, scriptedRunner } from '../support/scripted-runner.ts';

function ours(destination: string, scope: string | null = destination.includes(':') ? null : 'link'): Route {
  return { destination, protocol: null, scope };
}

describe('planRoutes', () => {
  const cases: Array<[string, string[], Route[], RoutePlan]> = [
    ['nothing to do', [], [], { replace: [], remove: [] }],
    ['adds missing v4 and v6 routes', ['10.4.0.0/16', 'fd00:4::/56'], [], { replace: ['10.4.0.0/16', 'fd00:4::/56'], remove: [] }],
    ['keeps routes in place', ['10.4.0.0/16', 'fd00:4::/56'], [ours('10.4.0.0/16'), ours('fd00:4::/56')], { replace: [], remove: [] }],
    ['repairs a deleted route', ['10.4.0.0/16', '10.5.0.0/16'], [ours('10.4.0.0/16')], { replace: ['10.5.0.0/16'], remove: [] }],
    ['replaces a route that is not link-scoped', ['10.4.0.0/16'], [ours('10.4.0.0/16', 'global')], { replace: ['10.4.0.0/16'], remove: [] }],
    ['removes a route no longer desired', ['10.4.0.0/16'], [ours('10.4.0.0/16'), ours('10.9.0.0/16')], { replace: [], remove: ['10.9.0.0/16'] }],
    [
      'leaves kernel routes alone',
      [],
      [{ destination: 'fe80::/64', protocol: 'kernel', scope: null }],
      { replace: [], remove: [] },
    ],
    ['compares host routes and IPv6 case canonically', ['10.4.0.1', 'FD00:4::/56'], [ours('10.4.0.1/32'), ours('fd00:4::/56')], { replace: [], remove: [] }],
  ];
  for (const [name, desired, observed, expected] of cases) {
    it(name, () => assert.deepEqual(planRoutes(desired, observed), expected));
  }
});


describe('routeBatch', () => {
  it('writes deletions then replacements, family taken from each CIDR', () => {
    assert.equal(
      routeBatch('wg-c2', { replace: ['10.4.0.0/16', 'fd00:4::/56'], remove: ['10.9.0.0/16'] }),
      'route delete 10.9.0.0/16 dev wg-c2\nroute replace 10.4.0.0/16 dev wg-c2 scope link\nroute replace fd00:4::/56 dev wg-c2 scope link\n',
    );
    assert.equal(routeBatch('wg-c2', { replace: [], remove: [] }), '');
  });
});

describe('parseIpRoutes', () => {
  it('reads ip -j route show (captured, both families)', () => {
    const v4 = '[{"dst":"10.4.0.0/16","scope":"link","flags":[]},{"dst":"10.5.0.1","scope":"link","flags":[]}]';
    const v6 =
      '[{"dst":"fd00:4::/56","metric":1024,"flags":[],"pref":"medium"},{"dst":"fe80::/64","protocol":"kernel","metric":256,"flags":[],"pref":"medium"}]';
    assert.deepEqual(parseIpRoutes(v4), [ours('10.4.0.0/16'), ours('10.5.0.1/32')]);
    assert.deepEqual(parseIpRoutes(v6), [ours('fd00:4::/56'), { destination: 'fe80::/64', protocol: 'kernel', scope: null }]);
    assert.deepEqual(parseIpRoutes('[]'), []);
  });
});

describe('IpRoutes', () => {
  it('reads both families and applies a plan in one ip -batch', async () => {
    const { run, calls } = scriptedRunner((_file, args) => {
      if (args.includes('-batch')) return '';
      return args.includes('-6') ? '[{"dst":"fd00:4::/56","flags":[]}]' : '[{"dst":"10.4.0.0/16","scope":"link","flags":[]}]';
    });
    const routes = new IpRoutes(run);
    const plan = await syncRoutes(routes, 'wg-c2', ['10.4.0.0/16', 'fd00:4::/56', '10.5.0.0/16']);
    assert.deepEqual(plan, { replace: ['10.5.0.0/16'], remove: [] });
    assert.deepEqual(
      calls.map((call) => call.args.join(' ')),
      ['-j route show dev wg-c2', '-j -6 route show dev wg-c2', '-force -batch -'],
    );
    assert.equal(calls[2]!.options!.input, 'route replace 10.5.0.0/16 dev wg-c2 scope link\n');
  });

  it('runs nothing when nothing drifted', async () => {
    const { run, calls } = scriptedRunner((_file, args) => (args.includes('-6') ? '[]' : '[{"dst":"10.4.0.0/16","scope":"link"}]'));
    assert.deepEqual(await syncRoutes(new IpRoutes(run), 'wg-c2', ['10.4.0.0/16']), { replace: [], remove: [] });
    assert.equal(calls.length, 2);
  });

  it('says which routes failed, with the command error as cause', async () => {
    const { run } = scriptedRunner((file, args) => {
      throw failure(file, args, 2, 'Error: Nexthop device is not up.\nCommand failed -:1\n');
    });
    await assert.rejects(new IpRoutes(run).apply('wg-c2', { replace: ['10.4.0.0/16'], remove: [] }), (error: Error) => {
      assert.match(error.message, /updating routes through wg-c2 failed \(replace 10\.4\.0\.0\/16, remove none\)/);
      assert.match((error.cause as Error).message, /Nexthop device is not up/);
      return true;
    });
  });
});

describe('IpRoutes against the kernel', () => {
  it('a route the kernel refuses does not keep the others out: IPv6 disabled on the device, IPv4 still routed', async (t) => {
    if (skipUnlessRoot(t)) return;
    const host = await createLabHost(`cwrt${process.pid}`);
    t.after(() => host.destroy());
    await host.run('ip', ['link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
    await host.run('ip', ['link', 'set', 'dev', 'v0', 'up']);
    await host.run('tee', ['/proc/sys/net/ipv6/conf/v0/disable_ipv6'], { input: '1\n' });
    const routes = new IpRoutes(host.run);
    // The IPv6 route first: without -force, ip -batch stops at it.
    await assert.rejects(routes.apply('v0', { replace: ['fd04::/56', '10.4.0.0/16'], remove: [] }), (error: Error) => {
      assert.match((error.cause as Error).message, /IPv6 is disabled/);
      return true;
    });
    assert.deepEqual((await routes.list('v0')).map((route) => route.destination), ['10.4.0.0/16']);
  });
});

describe('FakeRoutes', () => {
  it('behaves like the real thing for syncRoutes, including drift', async () => {
    const routes = new FakeRoutes();
    assert.deepEqual(await syncRoutes(routes, 'wg-c2', ['10.4.0.0/16', 'fd00:4::/56']), {
      replace: ['10.4.0.0/16', 'fd00:4::/56'],
      remove: [],
    });
    assert.deepEqual(await syncRoutes(routes, 'wg-c2', ['10.4.0.0/16', 'fd00:4::/56']), { replace: [], remove: [] });
    routes.deleteRoute('wg-c2', '10.4.0.0/16');
    assert.deepEqual(await syncRoutes(routes, 'wg-c2', ['10.4.0.0/16', 'fd00:4::/56']), { replace: ['10.4.0.0/16'], remove: [] });
    routes.dropDevice('wg-c2');
    assert.deepEqual(await routes.list('wg-c2'), []);
  });
});
