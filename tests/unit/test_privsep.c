/* test_privsep.c — lib/privsep.c's helper side (included whole: its request
 * reader is static).  The rest of privsep is tested end to end by
 * tests/cli/privsep.bats, and fuzzed by tests/fuzz/fuzz_privsep.c. */
#include <check.h>
#include <fcntl.h>

#include "../../lib/privsep.c"

const char *const progname = "test_privsep";

/* Descriptors sent with an empty record (what the helper reads as EOF)
 * are closed, not kept by the root helper (found by fuzz_privsep). */
START_TEST(take_empty_record_closes_fds)
{
	int sv[2], p[2], fds[2], nfds = -1;
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { cbuf, 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
	    .msg_controllen = sizeof cbuf };
	struct cmsghdr *cm;
	struct privsep_msg *m = calloc(1, sizeof *m);
	char c;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
	ck_assert_int_eq(sendmsg(sv[1], &mh, 0), 0);
	close(p[1]);
	ck_assert_int_eq(take(sv[0], m, fds, &nfds), 0);
	/* The pipe's only write end went to take: closed, the read end sees EOF. */
	ck_assert_int_eq(read(p[0], &c, 1), 0);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
	free(m);
}
END_TEST

/* A request of the right size with a descriptor comes through whole. */
START_TEST(take_request_with_fd)
{
	int sv[2], p[2], fds[2], nfds = -1;
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct privsep_msg *m = calloc(1, sizeof *m), *in = calloc(1, sizeof *in);
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
	    .msg_controllen = sizeof cbuf };
	struct cmsghdr *cm;

	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(in);
	iov = (struct iovec){ m, sizeof *m };
	m->magic = PRIVSEP_MAGIC;
	m->type = PRIVSEP_START;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
	ck_assert_int_eq(sendmsg(sv[1], &mh, 0), (ssize_t)sizeof *m);
	ck_assert_int_eq(take(sv[0], in, fds, &nfds), (ssize_t)sizeof *in);
	ck_assert_int_eq(nfds, 1);
	ck_assert_int_eq(in->type, PRIVSEP_START);
	close(fds[0]);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	free(m);
	free(in);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("privsep");
	TCase *tc = tcase_create("helper");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, take_empty_record_closes_fds);
	tcase_add_test(tc, take_request_with_fd);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
