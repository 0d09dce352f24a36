/**
 * How podman runs on the lab machines (lab/containers.md): facts of these
 * machines, not of the product, kept in one place.
 *
 * - crun, podman's default runtime, refuses the hybrid cgroup layout (v1 plus
 *   a v2 "unified" mount) these machines have: runc works.
 * - CAP_SYS_RESOURCE is not granted, so a container cannot get rlimits above
 *   what podman itself runs with (lower than the shell's here, and not
 *   visible from it); podman's defaults are above that. Fixed limits well
 *   below go to `build` and to `run`. The daemon needs a few dozen files
 *   and processes.
 */
export const PODMAN_MACHINE_OPTIONS = ['--runtime', 'runc', '--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096'];
