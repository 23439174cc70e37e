"""The simulated cluster terminal (issue 15): ``k8snetviz shell``, the session engine, the exam's commands.

The contract (docs/contract.md): standard input not a terminal, one command a line, a ``<<EOF`` heredoc
continues a command, each command echoed as ``$ COMMAND`` before its output, one line starting
``not available in this simulator:`` for a command it does not know, exit 0, never a traceback.
"""

from __future__ import annotations

import io
import sys

import pytest

import k8snetviz
from k8snetviz.cli import main
from k8snetviz.course.shell import Session
from k8snetviz.course.shell.lexer import ShellSyntaxError, parse_line, split_script
from k8snetviz.course.shell.widget import terminal_widget

REFUSED = "not available in this simulator:"
CRASHED = "the simulator failed"


def out(s: Session, command: str, stdin: str | None = None) -> str:
    return s.run(command, stdin).output


# --- the command line contract ------------------------------------------------------------------------

def test_shell_reads_stdin_echoes_each_command_and_exits_0(monkeypatch, capsys) -> None:
    script = ("kubectl get svc web\n"
              "cat <<EOF | kubectl apply -f -\n"
              "apiVersion: v1\nkind: Service\nmetadata:\n  name: api2\nspec:\n  selector: {app: web}\n"
              "  ports: [{port: 80, targetPort: 8080}]\n"
              "EOF\n"
              "kubectl get ep api2\n"
              "tcpdump -i eth0\n"
              "kubeclt get pods\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    assert main(["shell", "services"]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0] == "$ kubectl get svc web"
    assert lines[1].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    # The heredoc is one command: its first line is echoed, its body is not.
    assert "$ cat <<EOF | kubectl apply -f -" in lines and "service/api2 created" in lines
    assert not any(line.startswith("$ apiVersion") for line in lines)
    assert any(line.startswith("api2 ") and "8080" in line for line in lines)
    assert f"{REFUSED} tcpdump -i eth0 (trace the packet with cluster.trace(...) or the PacketWalk widget)" in lines
    assert f"{REFUSED} kubeclt get pods (did you mean kubectl?)" in lines
    assert "Traceback" not in text


def test_shell_bad_scenario_is_one_line_and_status_2(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("kubectl get pods\n"))
    assert main(["shell", "no-such-scenario"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "no-such-scenario" in err


# --- the shell's syntax ---------------------------------------------------------------------------------

def test_lexer_pipes_quotes_variables_and_substitution() -> None:
    cl = parse_line("kubectl get pods -l 'app=web' | grep -v Running > out.txt", {})
    (_, pipe), = cl.pipelines
    assert [c.words for c in pipe.commands] == [["kubectl", "get", "pods", "-l", "app=web"], ["grep", "-v", "Running"]]
    assert pipe.commands[1].stdout == "out.txt"
    env = {"do": "--dry-run=client -o yaml", "NS": "dev"}
    # An unquoted expansion splits into words; a quoted one does not (bash's word splitting).
    assert parse_line("k run x $do -n $NS", env).pipelines[0][1].commands[0].words == \
        ["k", "run", "x", "--dry-run=client", "-o", "yaml", "-n", "dev"]
    assert parse_line('echo "$do"', env).pipelines[0][1].commands[0].words == ["echo", "--dry-run=client -o yaml"]
    assert parse_line("echo $(hostname)", {}, lambda inner: f"<{inner}>\n").pipelines[0][1].commands[0].words == \
        ["echo", "<hostname>"]
    assert [j for j, _ in parse_line("a && b || c ; d", {}).pipelines] == [";", "&&", "||", ";"]
    with pytest.raises(ShellSyntaxError, match="unexpected EOF while looking for matching"):
        parse_line("echo 'open", {})
    with pytest.raises(ShellSyntaxError, match="syntax error near unexpected token `|'"):
        parse_line("| grep x", {})


def test_heredocs_continue_a_command() -> None:
    script = "cat <<EOF > a.yaml\nkind: Pod\n  x: 1\nEOF\nls\ncat <<-'END'\n\tindented\n\tEND\n"
    assert split_script(script) == [("cat <<EOF > a.yaml", "kind: Pod\n  x: 1\n"), ("ls", None),
                                    ("cat <<-'END'", "indented\n")]


def test_pipes_redirections_files_and_globs() -> None:
    s = Session("services")
    assert out(s, "kubectl get pods --no-headers | wc -l") == "4"
    assert out(s, "kubectl get svc -o name | grep -c web") == "4"
    out(s, "kubectl get svc web -o jsonpath='{.spec.clusterIP}' > /opt/ip.txt")
    assert out(s, "cat /opt/ip.txt") == s.cluster.service("web").cluster_ip
    out(s, "ssh kind-worker")
    assert out(s, "ls /etc/cni/net.d/*.conflist") == "/etc/cni/net.d/10-kindnet.conflist"
    assert out(s, "cat /etc/cni/net.d/*").startswith("{")
    assert out(s, "false && echo no || echo yes") == "yes"


# --- kubectl ------------------------------------------------------------------------------------------------

def test_kubectl_reads_like_kubectl() -> None:
    s = Session("services")
    # Errors in the API server's and kubectl's words (apimachinery's StatusError, kubectl's resource builder).
    assert out(s, "kubectl get svc nope") == 'Error from server (NotFound): services "nope" not found'
    assert out(s, "kubectl get deploy nope") == 'Error from server (NotFound): deployments.apps "nope" not found'
    assert out(s, "kubectl get pdos") == 'error: the server doesn\'t have a resource type "pdos"'
    assert out(s, "kubectl get netpol") == "No resources found in default namespace."
    assert out(s, "k get ingressclass") == "No resources found"
    # Several types: each NAME carries its type, tables are separated by a blank line.
    both = out(s, "kubectl get svc,ep").splitlines()
    assert both[0] == "Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"
    assert both[2].startswith("service/api ") and "" in both and any(ln.startswith("endpoints/web ") for ln in both)
    labels = out(s, "kubectl get pods --show-labels -l app=web").splitlines()
    assert labels[0].endswith("LABELS") and all("app=web" in ln for ln in labels[1:]) and len(labels) == 4
    assert out(s, "kubectl get pods -l app=web -o name").splitlines()[0].startswith("pod/web-")
    assert out(s, "kubectl -n kube-system get deploy -o name") == "deployment.apps/coredns"
    ips = out(s, "kubectl get nodes -o jsonpath='{.items[*].status.addresses[?(@.type==\"InternalIP\")].address}'")
    assert ips == "172.18.0.2 172.18.0.3 172.18.0.4"
    cc = out(s, "kubectl get nodes -o custom-columns=NAME:.metadata.name,CIDR:.spec.podCIDR").splitlines()
    assert cc[0].split() == ["NAME", "CIDR"] and cc[2].split() == ["kind-worker", "10.244.1.0/24"]
    assert out(s, "kubectl get pods -A -o wide").splitlines()[0].split()[:2] == ["NAMESPACE", "NAME"]
    yaml_text = out(s, "kubectl get svc web -o yaml")
    assert 'creationTimestamp: "2025-01-01T11:55:00Z"' in yaml_text and "targetPort: http" in yaml_text
    assert out(s, "kubectl describe svc web").startswith("Name:                     web\n")


def test_dry_run_prints_what_kubectls_generators_make() -> None:
    s = Session("services")
    dep = out(s, "kubectl create deployment web2 --image=nginx --replicas=2 --dry-run=client -o yaml")
    # kubectl create deployment's generator (k8s.io/kubectl/pkg/cmd/create/create_deployment.go): app=NAME,
    # the container named after the image, an empty strategy and status.
    assert dep.splitlines()[:6] == ["apiVersion: apps/v1", "kind: Deployment", "metadata:", "  creationTimestamp: null",
                                    "  labels:", "    app: web2"]
    assert "      - image: nginx\n        name: nginx\n        resources: {}" in dep and dep.endswith("status: {}")
    pod = out(s, "kubectl run tmp --image=busybox --dry-run=client -o yaml -- sleep 1d")
    assert "    run: tmp" in pod and "  - args:\n    - sleep\n    - 1d\n    image: busybox" in pod
    assert "deployments" not in out(s, "kubectl get deploy")  # nothing was created


def test_changes_rebuild_the_cluster_as_its_controllers_would() -> None:
    s = Session("services")
    assert out(s, "kubectl expose deployment web --name web-np --port 80 --target-port 8080 --type NodePort") == \
        "service/web-np exposed"
    svc = s.cluster.service("web-np")
    assert svc.type == "NodePort" and svc.selector == {"app": "web"} and svc.ports[0].target_port == 8080
    assert s.cluster.trace("external", f"node/kind-worker:{svc.ports[0].node_port}").delivered
    assert "KUBE-EXT" in out(s, f"ssh kind-worker iptables-save -t nat | grep {svc.ports[0].node_port}")
    out(s, "kubectl scale deploy web --replicas=1")
    assert len([p for p in s.cluster.pods.values() if p.labels.get("app") == "web"]) == 1
    # The API server refuses what it would refuse; the cluster stays as it was.
    refused = out(s, "kubectl create service nodeport bad --tcp=80:8080 --node-port=8080")
    assert refused == ('The Service "bad" is invalid: spec.ports[0].nodePort: Invalid value: 8080: provided port is '
                       "not in the valid range. The range of valid ports is 30000-32767")
    assert "bad" not in [sv.name for sv in s.cluster.services.values()]
    # kubeadm's objects are ordinary objects once the cluster exists: CoreDNS can be scaled to zero.
    out(s, "kubectl -n kube-system scale deploy coredns --replicas=0")
    assert "nslookup: can't resolve 'web'" in out(s, "kubectl exec client -- nslookup web")


def test_node_changes_are_learner_writes_that_survive_rebuilds() -> None:
    s = Session("two-node-bridge")
    assert s.cluster.trace("default/client", "default/web:80").delivered
    out(s, "ssh node-a")
    assert out(s, "ip route del 10.244.2.0/24") == ""
    t = s.cluster.trace("default/client", "default/web:80")
    assert not t.delivered
    assert out(s, "ip route del 10.244.2.0/24") == "RTNETLINK answers: No such process"
    out(s, "exit")
    out(s, "kubectl create deployment other --image=nginx")  # a rebuild: the learner's route change stays
    assert not s.cluster.trace("default/client", "default/web:80").delivered
    # `ip route add` without dev: the kernel takes the device the gateway is reached through.
    out(s, "ssh node-a")
    assert out(s, "ip route add 10.244.2.0/24 via 172.18.0.3") == ""
    assert "10.244.2.0/24 via 172.18.0.3 dev eth0" in out(s, "ip route")
    route = s.cluster.netns["node/node-a"].routes.find("10.244.2.0/24")
    assert route is not None and route.owner.component == "learner" and route.owner.node == "node-a"
    assert s.cluster.trace("default/client", "default/web:80").delivered
    out(s, "exit")
    out(s, "ssh node-b")
    out(s, "sysctl -w net.ipv4.ip_forward=0")
    assert not s.cluster.trace("default/client", "default/web:80").delivered
    out(s, "sysctl -w net.ipv4.ip_forward=1")
    assert s.cluster.trace("default/client", "default/web:80").delivered
    out(s, "iptables -I FORWARD -d 10.244.2.0/24 -j DROP")
    assert out(s, "iptables -S FORWARD").splitlines()[1] == "-A FORWARD -d 10.244.2.0/24 -j DROP"
    assert not s.cluster.trace("default/client", "default/web:80").delivered
    out(s, "iptables -D FORWARD 1")
    assert s.cluster.trace("default/client", "default/web:80").delivered


def test_run_rm_runs_the_command_in_a_new_pod_and_deletes_it() -> None:
    s = Session("services")
    text = out(s, "kubectl run tmp --rm -it --restart=Never --image=busybox:1.28 -- nslookup web")
    ip = s.cluster.service("web").cluster_ip
    # busybox 1.28's nslookup: the server with its PTR name, then each address with its own.
    assert text.splitlines() == ["Server:    10.96.0.10",
                                 "Address 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local",
                                 "", "Name:      web", f"Address 1: {ip} web.default.svc.cluster.local",
                                 'pod "tmp" deleted']
    assert "default/tmp" not in s.cluster.pods
    assert out(s, "kubectl run tmp --rm --image=busybox -- true") == \
        "error: --rm should only be used for attached containers"
    # Without a command, -it opens the pod's shell; exit deletes the pod.
    out(s, "kubectl run shell --rm -it --image=busybox:1.28 --restart=Never -- sh")
    assert s.prompt == "/ #" and "default/shell" in s.cluster.pods
    assert out(s, "hostname") == "shell"
    assert out(s, "exit") == 'pod "shell" deleted'
    assert "default/shell" not in s.cluster.pods and s.prompt == "root@kind-control-plane:~#"


def test_clients_in_a_pod_answer_as_the_walk_says() -> None:
    s = Session("services")
    api = s.cluster.service("api").cluster_ip
    assert out(s, "kubectl exec client -- curl -s web").startswith("web-")
    # A Service without endpoints: kube-proxy's REJECT, which curl reports as a failed connection (curl 8.x).
    assert out(s, "kubectl exec client -- curl -sS api").splitlines() == [
        "curl: (7) Failed to connect to api port 80 after 3 ms: Couldn't connect to server",
        "command terminated with exit code 7"]
    assert out(s, "kubectl exec client -- curl -s nope").splitlines() == ["command terminated with exit code 6"]
    assert out(s, "kubectl exec client -- wget -qO- nope").splitlines()[0] == "wget: bad address 'nope'"
    assert out(s, f"kubectl exec client -- nc -zv {api} 80").splitlines()[0] == \
        f"nc: {api} ({api}:80): Connection refused"
    # A cluster IP answers no ping: no interface holds it (Services are IP + port + protocol).
    ping = out(s, "kubectl exec client -- ping -c 2 web").splitlines()
    assert "2 packets transmitted, 0 packets received, 100% packet loss" in ping
    pod_ip = str(next(p.ip for p in s.cluster.pods.values() if p.name.startswith("web")))
    assert "2 packets transmitted, 2 packets received, 0% packet loss" in out(s, f"kubectl exec client -- ping -c 2 "
                                                                              f"{pod_ip}")
    assert out(s, "kubectl exec client -- cat /etc/resolv.conf").splitlines() == [
        "search default.svc.cluster.local svc.cluster.local cluster.local", "nameserver 10.96.0.10", "options ndots:5"]
    assert out(s, "kubectl exec client -- hostname -i") == str(s.cluster.pod("client").ip)


def test_node_tools_print_the_model() -> None:
    s = Session("kind-default")
    out(s, "ssh kind-control-plane")
    manifest = out(s, "cat /etc/kubernetes/manifests/kube-apiserver.yaml")
    assert f"--service-cluster-ip-range={s.cluster.config.service_subnet}" in manifest
    assert f"--cluster-cidr={s.cluster.config.pod_subnet}" in out(
        s, "grep cluster-cidr /etc/kubernetes/manifests/kube-controller-manager.yaml")
    assert out(s, "ls /etc/kubernetes/manifests").split() == ["etcd.yaml", "kube-apiserver.yaml",
                                                              "kube-controller-manager.yaml", "kube-scheduler.yaml"]
    assert out(s, "grep -A1 clusterDNS /var/lib/kubelet/config.yaml") == "clusterDNS:\n- 10.96.0.10"
    out(s, "exit")
    out(s, "ssh kind-worker")
    from k8snetviz.agents.cni.config import conflist_file

    f = conflist_file(s.cluster, "kind-worker")
    assert out(s, f"cat {f.path}") == f.text.rstrip("\n")
    assert out(s, "sysctl net.ipv4.ip_forward") == "net.ipv4.ip_forward = 1"
    assert out(s, "iptables -t nat -L KUBE-SERVICES -n").splitlines()[0] == "Chain KUBE-SERVICES (2 references)"
    assert out(s, "iptables-save -t nat").splitlines()[1] == "*nat"
    assert out(s, "ip netns list").count("cni-") == len([p for p in s.cluster.pods.values()
                                                          if p.node_name == "kind-worker" and not p.host_network])
    assert "Active: active (running)" in out(s, "systemctl status kubelet")
    assert out(s, "crictl pods").splitlines()[0].split()[:3] == ["POD", "ID", "CREATED"]
    assert out(s, "kubectl get pods") != ""  # kubectl works on the node too


def test_notebook_terminal_widget_runs_the_session() -> None:
    w = terminal_widget(Session("two-node-bridge"))
    w.submit("ssh node-a")
    assert w.prompt == "root@node-a:~#"
    w.submit("cat <<EOF > /tmp/x")
    assert w.prompt == ">"
    w.submit("hello")
    w.submit("EOF")
    w.submit("cat /tmp/x")
    assert w.transcript[-1]["output"] == "hello" and w.prompt == "root@node-a:~#"
    assert "root@node-a:~# cat /tmp/x\nhello" in w.text()


# --- the exam's commands --------------------------------------------------------------------------------------

# Commands an exam taker types in the networking and troubleshooting domains, in the order a session
# would: set-up, reading the cluster, imperative changes, debugging from pods, on nodes.
EXAM = r"""
kubectl config current-context
kubectl config use-context k8s
kubectl config set-context --current --namespace=default
alias k=kubectl
export do="--dry-run=client -o yaml"
source <(kubectl completion bash)
complete -o default -F __start_kubectl k
k get nodes -o wide
kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\t"}{.spec.podCIDR}{"\n"}{end}'
kubectl describe node kind-worker | grep -i podcidr
kubectl get pods -A -o wide
kubectl -n kube-system get pods -l k8s-app=kube-dns
kubectl get pods --show-labels
kubectl get pods -o wide --sort-by=.status.podIP
kubectl get pods --field-selector status.phase=Running -o name
kubectl get all -A
kubectl get svc,ep -o wide
kubectl get endpointslices -l kubernetes.io/service-name=web
kubectl describe svc web
kubectl describe ep web
kubectl get svc web -o jsonpath='{.spec.ports[0].targetPort}'
kubectl get cm -n kube-system coredns -o yaml
kubectl -n kube-system get cm kube-proxy -o yaml | grep -i mode
kubectl -n kube-system get cm kubeadm-config -o yaml | grep -i subnet
kubectl get netpol -A
kubectl get ingress,ingressclass -A
kubectl get events -A --sort-by=.metadata.creationTimestamp
kubectl api-resources --namespaced=true | grep -i network
kubectl explain networkpolicy.spec.ingress.from
kubectl explain svc.spec.externalTrafficPolicy
kubectl cluster-info
kubectl version --client
kubectl auth can-i create networkpolicies
kubectl top pods
kubectl run nginx --image=nginx --port=80 --labels=app=nginx
kubectl run test --image=nginx $do
kubectl expose pod nginx --port=80 --name=nginx-svc
kubectl create deployment api --image=nginx --replicas=2 --port=80
kubectl expose deployment api --port=8080 --target-port=80 --type=NodePort
kubectl create service clusterip backend --tcp=80:8080 --dry-run=client -o yaml
kubectl create ingress api --class=nginx --rule="api.example.com/*=api:8080"
kubectl create secret tls api-tls --cert=/root/tls.crt --key=/root/tls.key
kubectl create configmap settings --from-literal=mode=debug
kubectl create namespace team-a
kubectl label namespace team-a purpose=exam
kubectl label pod nginx tier=frontend
kubectl annotate svc nginx-svc owner=team-a
kubectl scale deployment api --replicas=3
kubectl set selector svc nginx-svc app=nginx
kubectl patch svc api -p '{"spec":{"externalTrafficPolicy":"Local"}}'
kubectl patch svc api --type=json -p='[{"op":"replace","path":"/spec/ports/0/targetPort","value":80}]'
kubectl rollout restart deployment api
kubectl rollout status deployment api
kubectl get svc api -o yaml | grep -i nodePort
cat <<EOF | kubectl apply -f -
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: team-a
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
EOF
kubectl describe netpol default-deny -n team-a
kubectl run tmp --image=busybox:1.28 --rm -it --restart=Never -- nslookup kubernetes.default
kubectl run tmp --image=busybox:1.28 --rm -it --restart=Never -- wget -qO- -T 2 http://nginx-svc
kubectl run curl --image=curlimages/curl --rm -i --restart=Never -- curl -s -m 3 -o /dev/null -w "%{http_code}" web
kubectl exec client -- nslookup web.default.svc.cluster.local
kubectl exec client -- dig +short web.default.svc.cluster.local
kubectl exec client -- cat /etc/resolv.conf
kubectl exec client -- cat /etc/hosts
kubectl exec client -- curl -sv web
kubectl exec client -- wget --spider -T 2 web
kubectl exec client -- nc -zv -w 2 web 80
kubectl exec client -- ping -c 1 web
kubectl exec client -- ip addr
kubectl exec client -- ip route
kubectl exec client -- hostname -i
kubectl exec -it client -- sh
nslookup web
exit
kubectl logs -n kube-system -l k8s-app=kube-dns --tail=3
kubectl logs nginx
kubectl delete pod test --force --grace-period=0
kubectl delete svc backend
kubectl edit svc web
kubectl get pod nginx -o jsonpath='{.status.podIP}'
kubectl wait --for=condition=Ready pod/nginx --timeout=60s
kubectl port-forward svc/web 8080:80
kubectl debug node/kind-worker -it --image=busybox
exit
ssh kind-worker
ip -br a
ip a show eth0
ip link show
ip route
ip route get 10.96.0.10
ip neigh show
ip netns list
bridge link show
bridge fdb show
sysctl net.ipv4.ip_forward
sysctl -a | grep forward
iptables -L -n -v
iptables -t nat -L KUBE-SERVICES -n --line-numbers
iptables -t nat -S | grep web
iptables-save -t nat | grep -i nginx
iptables-save | wc -l
nft list ruleset | head -20
conntrack -L
crictl ps
crictl pods --namespace default
crictl inspectp $(crictl pods -q | head -1) | grep -i '"ip"'
ls /etc/cni/net.d/
cat /etc/cni/net.d/*.conflist
ls -l /opt/cni/bin
cat /var/lib/kubelet/config.yaml | grep -A1 -i clusterdns
systemctl status kubelet
systemctl is-active kubelet
journalctl -u kubelet | tail -3
ps aux | grep kubelet
ss -tlnp
route -n
exit
ssh kind-control-plane
ls /etc/kubernetes/manifests
grep -i service-cluster-ip-range /etc/kubernetes/manifests/kube-apiserver.yaml
grep cluster-cidr /etc/kubernetes/manifests/kube-controller-manager.yaml
cat /etc/kubernetes/manifests/etcd.yaml | grep listen-client
ps aux | grep kube-apiserver | head -1
exit
kubectl get pods -o custom-columns=NAME:.metadata.name,IP:.status.podIP,NODE:.spec.nodeName > /opt/pods.txt
cat /opt/pods.txt
for n in $(kubectl get nodes -o name); do kubectl get $n -o jsonpath='{.spec.podCIDR}{"\n"}'; done
for i in $(seq 1 3); do kubectl exec client -- wget -qO- -T 2 http://web | head -1; done | sort | uniq -c
kubectl get pods -l app=web -o name | xargs -n1 kubectl get --no-headers
kubectl get pod client -o yaml > /root/client.yaml
kubectl replace --force -f /root/client.yaml
kubectl exec client -- ip route
"""


def test_exam_commands_are_answered_without_refusal_or_failure() -> None:
    s = Session("services", files={"/root/tls.crt": "-----BEGIN CERTIFICATE-----\n",
                                   "/root/tls.key": "-----BEGIN PRIVATE KEY-----\n"})
    problems = []
    for line, body in split_script(EXAM):
        text = s.run(line, body).output
        if REFUSED in text or CRASHED in text or "command not found" in text or "unknown command" in text or \
                "unknown flag" in text or "unknown shorthand" in text or "Traceback" in text:
            problems.append(f"$ {line}\n{text}")
    assert problems == []
    assert s.place.kind == "node" and len(s.places) == 1
    assert "nginx" in out(s, "cat /opt/pods.txt")


def test_loops_xargs_and_seq_run_as_bash_runs_them() -> None:
    s = Session("kind-default")
    assert out(s, "for i in 1 2 3; do echo $i; done") == "1\n2\n3"
    assert out(s, "for i in $(seq 2 2 6); do echo n$i; done | grep -c n") == "3"
    assert out(s, "for x in; do echo never; done && echo after") == "after"
    assert out(s, "kubectl get nodes -o name | xargs -n1 echo node:") == \
        "node: node/kind-control-plane\nnode: node/kind-worker\nnode: node/kind-worker2"
    assert out(s, "printf 'a\\nb\\n' | xargs -I{} echo [{}]") == "[a]\n[b]"
    # bash needs `;` (or a newline) before done: without it the loop is not closed.
    assert out(s, "for i in a b; do echo $i done").startswith(f"{REFUSED} for i in a b; do echo $i done (")
    assert out(s, "while true; do date; done").startswith(REFUSED)


def test_a_saved_object_can_be_created_again() -> None:
    # `kubectl get -o yaml` carries uid, resourceVersion and creationTimestamp: the API server sets its own.
    s = Session("kind-default")
    s.feed("kubectl get pods -o yaml > /root/pods.yaml\nkubectl delete pod client\n")
    assert out(s, "kubectl replace --force -f /root/pods.yaml").splitlines()[0] == "pod/client replaced"
    assert out(s, "kubectl exec client -- ip route").startswith("default via 10.244.1.1 dev eth0")
    assert len(s.cluster.nodes) == 3


def test_tools_outside_the_model_say_where_to_look() -> None:
    s = Session("kind-default")
    assert out(s, "lsmod | grep br_netfilter") == f"{REFUSED} lsmod (kernel modules are not modelled: sysctl " \
        "net.bridge.bridge-nf-call-iptables shows br_netfilter at work)"
    assert out(s, "helm list -A").endswith("(charts are not modelled: apply their manifests with kubectl apply -f)")


def test_a_refusal_names_the_command_and_is_one_line() -> None:
    s = Session("two-node-bridge")
    for command, hint in (("vim svc.yaml", "write files with cat <<EOF > FILE"),
                          ("kubectl cp a b", None), ("ip route add", None)):
        text = out(s, command)
        if hint is None:
            assert REFUSED not in text or len(text.splitlines()) == 1
        else:
            assert text == f"{REFUSED} {command} ({hint}, or change them with sed -i 's/OLD/NEW/' FILE)"
    # The terminal starts on the control-plane node: its tools answer at once.
    assert out(s, "iptables -L").startswith("Chain INPUT (policy ACCEPT)")
    # On a host outside the cluster, node commands say where they run.
    outside = Session("two-node-bridge", home="workstation")
    assert out(outside, "iptables-save") == f"{REFUSED} iptables-save (iptables-save runs on a node: ssh NODE first " \
        "(kubectl get nodes lists them))"


@pytest.mark.parametrize("scenario", k8snetviz.shipped_scenarios())
def test_every_shipped_scenario_answers_the_basics(scenario: str) -> None:
    s = Session(scenario)
    node = next(iter(s.cluster.nodes))
    for command in ("kubectl get pods -A -o wide", "kubectl get svc -A", "kubectl get nodes -o wide",
                    f"ssh {node}", "ip route", "iptables-save -t nat", "crictl pods", "exit"):
        text = out(s, command)
        assert REFUSED not in text and CRASHED not in text, (scenario, command, text)


def test_crictl_filters_apply_to_the_quiet_listing_too() -> None:
    s = Session("troubleshooting")
    s.run("ssh kind-worker")
    ids = out(s, "crictl ps --name kube-proxy -q").splitlines()
    assert len(ids) == 1 and len(ids[0]) == 64
    assert out(s, "crictl ps --name 'kube-.*'").splitlines()[1].split()[0] == ids[0][:13]
    assert out(s, "crictl inspect $(crictl ps --name kube-proxy -q) | grep -c '\"pid\"'") == "1"
    # kube-proxy's pod and, since issue 14 models kind's control plane, kindnet's DaemonSet pod
    assert len(out(s, "crictl pods -q --namespace kube-system").splitlines()) == 2
    assert len(out(s, "crictl ps --name '['").splitlines()) == 1  # no match: the header alone


def test_short_options_cluster_as_getopt_reads_them() -> None:
    s = Session("services")
    pod = out(s, "kubectl exec client -- wget -qO- -T 2 web")
    assert out(s, "kubectl exec client -- wget -qO- -T2 web") == pod and pod.startswith("web-")
    assert out(s, "kubectl exec client -- nc -zvw 2 web 80") == out(s, "kubectl exec client -- nc -zv -w 2 web 80") \
        == f"web ({s.cluster.service('web').cluster_ip}:80) open"


def test_how_to_tell_which_mode_kube_proxy_runs() -> None:
    # Notebook 04's three ways. /proxyMode: kubernetes cmd/kube-proxy/app/server.go, serveMetrics writes the mode
    # with fmt.Fprintf(w, "%s", proxyMode), no newline. A backslash-escaped dot is part of a JSONPath field name:
    # client-go util/jsonpath parser.go, parseField (advance() skips the escaped rune; the backslashes are dropped).
    for scenario, mode in (("kind-default", "iptables"), ("kube-proxy-nftables", "nftables")):
        s = Session(scenario)
        conf = s.run("kubectl -n kube-system get cm kube-proxy -o jsonpath='{.data.config\\.conf}' | grep mode")
        assert conf.output.strip() == f"mode: {mode}", conf.output
        logs = s.run("kubectl -n kube-system logs ds/kube-proxy | grep Proxier").output
        assert f'"Using {mode} Proxier"' in logs, logs
        s.run("ssh kind-worker")
        assert s.run("curl -s localhost:10249/proxyMode").output == mode
    labels = Session("kind-default").run(
        "kubectl get nodes -o jsonpath='{.items[*].metadata.labels.kubernetes\\.io/hostname}'").output
    assert labels.split() == ["kind-control-plane", "kind-worker", "kind-worker2"]
