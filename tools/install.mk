# tools/install.mk - make install / make uninstall (included by the Makefile).
#
#   make install [PREFIX=/usr/local] [DESTDIR=] [LIBDIR=$(PREFIX)/lib]
#                [INCLUDEDIR=$(PREFIX)/include] [BINDIR=$(PREFIX)/bin]
#                [PKGCONFIGDIR=$(LIBDIR)/pkgconfig]
#
# Installs, under $(DESTDIR) (a staging root; the paths written into the pkg-config
# files leave it out):
#   LIBDIR/libhakmem.so.MAJOR.MINOR        release build, SONAME libhakmem.so.MAJOR;
#   LIBDIR/libhakmem.so.MAJOR -> ...          linking it (or LD_PRELOADing it) makes
#   LIBDIR/libhakmem.so -> libhakmem.so.MAJOR  hakmem the process's malloc
#   LIBDIR/libhakmem-debug.so.MAJOR.MINOR  debug build, likewise (+ its two links)
#   LIBDIR/libhakmem.a, libhakmem-debug.a  the prefixed API only (hak_*, hakd_*)
#   INCLUDEDIR/hakmem.h
#   PKGCONFIGDIR/hakmem.pc, hakmem-debug.pc
#   BINDIR/hakmem-replay                   replay / convert / explain op streams
# `make uninstall` with the same variables removes exactly these files.

HAKMEM_MAJOR := $(shell sed -n 's/^\#define HAKMEM_VERSION_MAJOR \([0-9]*\).*/\1/p' include/hakmem.h)
HAKMEM_MINOR := $(shell sed -n 's/^\#define HAKMEM_VERSION_MINOR \([0-9]*\).*/\1/p' include/hakmem.h)
HAKMEM_PATCH := $(shell sed -n 's/^\#define HAKMEM_VERSION_PATCH \([0-9]*\).*/\1/p' include/hakmem.h)
HAKMEM_VERSION_STRING := $(HAKMEM_MAJOR).$(HAKMEM_MINOR).$(HAKMEM_PATCH)

PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
BINDIR       ?= $(PREFIX)/bin
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR      ?=
INSTALL      ?= install

# The installed shared objects: name -> SONAME (the link rules in the Makefile use it).
soname = $(1).so.$(HAKMEM_MAJOR)
INSTALL_SOS  := libhakmem libhakmem-debug
INSTALL_PCS  := hakmem hakmem-debug
PC_LIB_hakmem       := hakmem
PC_LIB_hakmem-debug := hakmem-debug
PC_DESC_hakmem       := hakmem small-object allocator (release build: hak_* API; the shared library is a malloc drop-in)
PC_DESC_hakmem-debug := hakmem small-object allocator (debug build: hakd_* API with registry validation)

INSTALL_FILES := $(foreach s,$(INSTALL_SOS),$(LIBDIR)/$(s).so.$(HAKMEM_MAJOR).$(HAKMEM_MINOR) \
                     $(LIBDIR)/$(s).so.$(HAKMEM_MAJOR) $(LIBDIR)/$(s).so $(LIBDIR)/$(s).a) \
                 $(INCLUDEDIR)/hakmem.h $(BINDIR)/hakmem-replay \
                 $(foreach p,$(INSTALL_PCS),$(PKGCONFIGDIR)/$(p).pc)

.PHONY: install uninstall
install: libs $(BUILD)/hakmem-replay
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGCONFIGDIR)
	@set -e; for s in $(INSTALL_SOS); do \
	    full=$$s.so.$(HAKMEM_MAJOR).$(HAKMEM_MINOR); \
	    echo "$(INSTALL) $(BUILD)/$$s.so $(DESTDIR)$(LIBDIR)/$$full"; \
	    $(INSTALL) -m 755 $(BUILD)/$$s.so $(DESTDIR)$(LIBDIR)/$$full; \
	    ln -sfn $$full $(DESTDIR)$(LIBDIR)/$$s.so.$(HAKMEM_MAJOR); \
	    ln -sfn $$s.so.$(HAKMEM_MAJOR) $(DESTDIR)$(LIBDIR)/$$s.so; \
	    $(INSTALL) -m 644 $(BUILD)/$$s.a $(DESTDIR)$(LIBDIR)/$$s.a; \
	done
	$(INSTALL) -m 644 include/hakmem.h $(DESTDIR)$(INCLUDEDIR)/hakmem.h
	$(INSTALL) -m 755 $(BUILD)/hakmem-replay $(DESTDIR)$(BINDIR)/hakmem-replay
	@set -e; for p in $(INSTALL_PCS); do \
	    echo "writing $(DESTDIR)$(PKGCONFIGDIR)/$$p.pc"; \
	    case $$p in hakmem) lib=hakmem; desc="$(PC_DESC_hakmem)";; *) lib=hakmem-debug; desc="$(PC_DESC_hakmem-debug)";; esac; \
	    sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	        -e "s|@NAME@|$$p|" -e "s|@DESCRIPTION@|$$desc|" -e 's|@VERSION@|$(HAKMEM_VERSION_STRING)|' \
	        -e "s|@LIB@|$$lib|" tools/hakmem.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/$$p.pc; \
	done

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALL_FILES))
