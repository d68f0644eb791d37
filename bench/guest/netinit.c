/* /init of the Linux reference initramfs for the network rows (a server program such as nginx):
 * loads the kernel modules listed in /modules.list (one path a line, dependencies first: Debian's
 * cloud kernel has virtio, virtio_mmio / virtio_pci and virtio_net as modules, and there is no
 * udev or modprobe here), mounts /proc, brings up lo and eth0 as QEMU's user-mode network expects
 * (10.0.2.15/24, default route via 10.0.2.2), prints "@@NET-UP@@", then runs the program given on
 * the kernel command line after "--" like init.c: waits for it, prints "@@BENCH-EXIT N@@" and
 * powers off. The harness usually stops the VM itself once the load test is over. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static void say(const char *s)
{
    ssize_t n = (ssize_t)strlen(s);
    while (n > 0) {
        ssize_t w = write(1, s, (size_t)n);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return;
        }
        s += w;
        n -= w;
    }
}

static void sayf(const char *what, const char *arg, int err)
{
    char buf[256];
    snprintf(buf, sizeof buf, "netinit: %s %s: %s\n", what, arg, strerror(err));
    say(buf);
}

static void load_modules(void)
{
    FILE *f = fopen("/modules.list", "r");
    char line[256];
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0])
            continue;
        int fd = open(line, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            sayf("open", line, errno);
            continue;
        }
        if (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)
            sayf("finit_module", line, errno);
        close(fd);
    }
    fclose(f);
}

static int set_addr(int s, unsigned long req, const char *ifname, const char *ip)
{
    struct ifreq ifr;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    sin->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &sin->sin_addr);
    return ioctl(s, req, &ifr);
}

static int if_up(int s, const char *ifname)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
        return -1;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static int net_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        sayf("socket", "AF_INET", errno);
        return -1;
    }
    if (if_up(s, "lo") != 0)
        sayf("up", "lo", errno);
    /* The driver registers eth0 while its module loads; allow a moment all the same. */
    for (int i = 0; i < 100 && if_nametoindex("eth0") == 0; i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (if_nametoindex("eth0") == 0) {
        say("netinit: no eth0\n");
        close(s);
        return -1;
    }
    if (set_addr(s, SIOCSIFADDR, "eth0", "10.0.2.15") != 0 ||
        set_addr(s, SIOCSIFNETMASK, "eth0", "255.255.255.0") != 0 || if_up(s, "eth0") != 0) {
        sayf("configure", "eth0", errno);
        close(s);
        return -1;
    }
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    struct sockaddr_in *gw = (struct sockaddr_in *)&rt.rt_gateway;
    struct sockaddr_in *dst = (struct sockaddr_in *)&rt.rt_dst;
    struct sockaddr_in *mask = (struct sockaddr_in *)&rt.rt_genmask;
    gw->sin_family = dst->sin_family = mask->sin_family = AF_INET;
    inet_pton(AF_INET, "10.0.2.2", &gw->sin_addr);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    if (ioctl(s, SIOCADDRT, &rt) != 0)
        sayf("route add default via", "10.0.2.2", errno);
    close(s);
    return 0;
}

int main(int argc, char **argv)
{
    char *def[] = {"/prog", NULL};
    char **args = argc > 1 ? argv + 1 : def;
    char buf[160];
    int status = 0, code;

    if (fcntl(1, F_GETFD) < 0) {
        int fd = open("/dev/console", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
        }
    }
    mkdir("/tmp", 01777);
    mkdir("/proc", 0555);
    mount("proc", "/proc", "proc", 0, NULL);
    load_modules();
    if (net_up() != 0) {
        code = 124;
        goto out;
    }
    say("@@NET-UP@@\n");
    pid_t pid = fork();
    if (pid == 0) {
        execv(args[0], args);
        snprintf(buf, sizeof buf, "netinit: exec %s: %s\n", args[0], strerror(errno));
        say(buf);
        _exit(127);
    }
    if (pid < 0) {
        code = 125;
    } else {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
out:
    snprintf(buf, sizeof buf, "\n@@BENCH-EXIT %d@@\n", code);
    say(buf);
    tcdrain(1);
    sync();
    reboot(RB_POWER_OFF);
    reboot(RB_AUTOBOOT);
    for (;;)
        pause();
}
