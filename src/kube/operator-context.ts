/**
 * A context of the operator's kubeconfig files, for commands run from a
 * workstation (`connect`, `disconnect`): kubectl's merging and context
 * selection (kubeconfig.ts), and an exec credential plugin run once when the
 * context's user has one (exec-credential.ts). The daemon never comes here.
 */
import type { ConnectionSettings } from './connection-settings.ts';
import { resolveExecCredential } from './exec-credential.ts';
import { mergeKubeconfigs, readKubeconfigs, selectContext, settingsFromKubeconfig, type SelectedContext } from './kubeconfig.ts';

export async function operatorContext(paths: readonly string[], context: string | null): Promise<{ selected: SelectedContext; settings: ConnectionSettings }> {
  const selected = selectContext(mergeKubeconfigs(readKubeconfigs(paths)), context);
  let user = selected.user;
  if (user.exec) {
    try {
      user = await resolveExecCredential(user);
    } catch (cause) {
      throw new Error(`${selected.origin}: ${(cause as Error).message}`, { cause });
    }
  }
  return { selected, settings: settingsFromKubeconfig(selected.cluster, user, selected.tokenFile, selected.origin) };
}
