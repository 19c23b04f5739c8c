// Service Bus (Standard: topics need it): topic `insights` with duplicate detection, so an
// insight the edge publishes twice (at-least-once relay and retries) is delivered once, and
// one subscription per consumer (`global` app ingest, `powerbi` feed).

@description('Azure region.')
param location string

@description('Service Bus namespace name.')
param namespaceName string

@description('Topic the edge publishes compliant insights to.')
param topicName string

@description('Subscriptions of the topic, one per consumer.')
param subscriptionNames array

@description('How long the topic remembers message ids for duplicate detection (ISO 8601, at most 7 days).')
param duplicateDetectionWindow string

@description('Deliveries before a message goes to the subscription\'s dead-letter queue.')
@minValue(1)
param maxDeliveryCount int

@description('Tags for every resource.')
param tags object

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: namespaceName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    // Sites are outside Azure and publish with a send-only SAS rule on the topic (below);
    // everything in Azure uses its managed identity.
    disableLocalAuth: false
  }
}

resource topic 'Microsoft.ServiceBus/namespaces/topics@2022-10-01-preview' = {
  parent: namespace
  name: topicName
  properties: {
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    defaultMessageTimeToLive: 'P14D'
    maxSizeInMegabytes: 1024
    enableBatchedOperations: true
    supportOrdering: false
  }
}

resource subscriptions 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = [
  for name in subscriptionNames: {
    parent: topic
    name: name
    properties: {
      maxDeliveryCount: maxDeliveryCount
      lockDuration: 'PT1M'
      deadLetteringOnMessageExpiration: true
      deadLetteringOnFilterEvaluationExceptions: true
      requiresSession: false
      enableBatchedOperations: true
    }
  }
]

// What a site gets (edgeloop-service-bus Secret): Send on this topic, nothing else.
resource siteSendRule 'Microsoft.ServiceBus/namespaces/topics/authorizationRules@2022-10-01-preview' = {
  parent: topic
  name: 'site-send'
  properties: {
    rights: [
      'Send'
    ]
  }
}

output namespaceName string = namespace.name
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output topicName string = topic.name
output subscriptionNames array = [for (name, i) in subscriptionNames: subscriptions[i].name]
output siteSendRuleName string = siteSendRule.name
