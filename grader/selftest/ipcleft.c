/*
 * ipcleft: System V IPC objects as a grader run leaves them, for t_ipc_reclaim.sh.
 *
 *   ipcleft dead BASE     the marker of a key slot (1 byte at BASE) and a test's objects in it
 *                         (4096 bytes at BASE+5, a semaphore at BASE+6), then exit: like a
 *                         grader killed with SIGKILL, whose marker outlives its creator
 *   ipcleft live BASE     the same objects, then wait for a signal: a grader still running
 *   ipcleft attach KEY    attach the segment at KEY and wait for a signal: an orphaned test
 *                         still using its segment
 * Prints "ready" once the objects exist. Exit status 1 with a message if a call fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

static void die(const char *call, long key)
{
    fprintf(stderr, "ipcleft: %s(key 0x%lx): ", call, key);
    perror(NULL);
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: ipcleft dead|live BASE, or ipcleft attach KEY\n");
        return 2;
    }
    long key = strtol(argv[2], NULL, 0);
    if (strcmp(argv[1], "attach") == 0) {
        int id = shmget((key_t)key, 0, 0);
        if (id < 0)
            die("shmget", key);
        if (shmat(id, NULL, SHM_RDONLY) == (void *)-1)
            die("shmat", key);
    } else {
        if (shmget((key_t)key, 1, IPC_CREAT | IPC_EXCL | 0600) < 0)
            die("shmget", key);
        if (shmget((key_t)(key + 5), 4096, IPC_CREAT | IPC_EXCL | 0600) < 0)
            die("shmget", key + 5);
        if (semget((key_t)(key + 6), 1, IPC_CREAT | IPC_EXCL | 0600) < 0)
            die("semget", key + 6);
    }
    printf("ready\n");
    fflush(stdout);
    if (strcmp(argv[1], "dead") != 0)
        pause();
    return 0;
}
