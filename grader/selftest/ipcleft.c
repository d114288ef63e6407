/*
 * ipcleft: System V IPC objects as a grader run leaves them, for t_ipc_reclaim.sh.
 *
 *   ipcleft dead BASE     the marker of a key slot (1 byte at BASE) and a test's objects in it
 *                         (4096 bytes at BASE+5, a semaphore at BASE+6), then exit: like a
 *                         grader killed with SIGKILL, whose marker outlives its creator
 *   ipcleft live BASE     the same objects, then wait for a signal: a grader still running
 *   ipcleft orphan BASE   the same objects; a child keeps BASE+5 attached and waits for a
 *                         signal, the creator exits: an orphaned test still using its segment
 *                         (attached before its creator is gone, so no grader ever sees the
 *                         slot dead and unused)
 * Prints "ready PID" (the process that waits, or this one) once the objects exist. Exit
 * status 1 with a message if a call fails.
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
    if (argc != 3 || (strcmp(argv[1], "dead") != 0 && strcmp(argv[1], "live") != 0 &&
                      strcmp(argv[1], "orphan") != 0)) {
        fprintf(stderr, "usage: ipcleft dead|live|orphan BASE\n");
        return 2;
    }
    long key = strtol(argv[2], NULL, 0);
    if (shmget((key_t)key, 1, IPC_CREAT | IPC_EXCL | 0600) < 0)
        die("shmget", key);
    int id = shmget((key_t)(key + 5), 4096, IPC_CREAT | IPC_EXCL | 0600);
    if (id < 0)
        die("shmget", key + 5);
    if (semget((key_t)(key + 6), 1, IPC_CREAT | IPC_EXCL | 0600) < 0)
        die("semget", key + 6);
    if (strcmp(argv[1], "dead") == 0) {
        printf("ready %ld\n", (long)getpid());
        return 0;
    }
    if (strcmp(argv[1], "orphan") == 0) {
        if (shmat(id, NULL, SHM_RDONLY) == (void *)-1)
            die("shmat", key + 5);
        pid_t pid = fork(); /* the child inherits the attachment */
        if (pid < 0)
            die("fork", key);
        if (pid > 0) {
            printf("ready %ld\n", (long)pid);
            return 0;
        }
    } else {
        printf("ready %ld\n", (long)getpid());
    }
    fflush(stdout);
    pause();
    return 0;
}
